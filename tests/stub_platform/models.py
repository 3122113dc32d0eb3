from django.db import models

from integrations.chatkit.rate_windows import AbstractRateWindow


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


class StubRateWindow(AbstractRateWindow):
    """The toolkit limiter's rows in its own tests (tests/chatkit), of no real platform."""
