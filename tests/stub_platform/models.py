from django.db import models


class StubAddress(models.Model):
    """A level's target on the stub platform: an address it "delivers" to."""

    level = models.ForeignKey(
        "oncall.EscalationLevel", on_delete=models.CASCADE, related_name="stub_addresses"
    )
    address = models.CharField(max_length=64)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.address
