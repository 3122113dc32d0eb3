"""Outbound webhooks: the endpoints an admin configures, the events written for them in the
transaction of the change (the outbox), one delivery per endpoint and event, and every attempt
to send it (``oncall.webhooks``)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oncall.crypto import EncryptedTextField
from oncall.models.signed_receivers import SignedReceiverMixin
from oncall.outbound import validate_url


class WebhookEventType(models.TextChoices):
    """What an endpoint may subscribe to. The names are the knowledge base's (``i_`` incident,
    ``a_`` alert events) where it has one; ``a_rslv`` (an alert recovered) is ours."""

    INCIDENT_TRIGGERED = "i_new", _("incident triggered")
    INCIDENT_ASSIGNED = "i_assign", _("incident escalated to a level or assigned")
    INCIDENT_ACKNOWLEDGED = "i_ack", _("incident claimed (acknowledged)")
    INCIDENT_UNACKNOWLEDGED = "i_unack", _("incident unclaimed")
    INCIDENT_SNOOZED = "i_snooze", _("incident snoozed")
    INCIDENT_WOKEN = "i_wake", _("incident woken")
    INCIDENT_CLOSED = "i_rslv", _("incident closed")
    INCIDENT_REOPENED = "i_reopen", _("incident reopened")
    INCIDENT_MERGED = "i_merge", _("incidents merged into this one")
    INCIDENT_NOTE = "i_comm", _("note added")
    ALERT_CREATED = "a_new", _("alert created")
    ALERT_UPDATED = "a_update", _("alert updated (a repeat event)")
    ALERT_RECOVERED = "a_rslv", _("alert recovered")


# Not a subscription: what "send a test event" sends.
TEST_EVENT_TYPE = "test"


def all_event_types() -> list[str]:
    return list(WebhookEventType.values)


def _validate_event_types(value: object) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one event type."))
    unknown = [v for v in value if v not in WebhookEventType.values]
    if unknown:
        raise ValidationError(
            _("Unknown event type(s): %(types)s.") % {"types": ", ".join(map(str, unknown))}
        )


class WebhookEndpoint(SignedReceiverMixin, models.Model):
    """A URL that receives a signed POST for each event it subscribes to, in the channels it
    covers. Its signing secret is shown once (on creation and on rotation); during a rotation's
    overlap the previous secret signs too."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    url = models.CharField(
        _("URL"),
        max_length=2000,
        validators=[validate_url],
        help_text=_("Where events are POSTed: https, on an address the console may call."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    all_channels = models.BooleanField(
        _("all channels"), default=True, help_text=_("Events of every channel, now and later.")
    )
    channels = models.ManyToManyField(
        "oncall.Channel",
        blank=True,
        related_name="webhook_endpoints",
        help_text=_("Without “all channels”: only these channels' events."),
        verbose_name=_("channels"),
    )
    event_types = models.JSONField(
        _("event types"), default=all_event_types, validators=[_validate_event_types]
    )
    # Custom headers, {"name": "value"}, as JSON: values may be credentials, so encrypted.
    headers_json = EncryptedTextField(
        blank=True, default="", editable=False, verbose_name=_("headers json")
    )
    secret = EncryptedTextField(editable=False, verbose_name=_("secret"))
    previous_secret = EncryptedTextField(
        blank=True, default="", editable=False, verbose_name=_("previous secret")
    )
    previous_secret_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("previous secret until")
    )
    # Since when every attempt failed (none succeeded since); a day of it disables the endpoint.
    failing_since = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("failing since")
    )
    disabled_reason = models.TextField(
        blank=True, editable=False, verbose_name=_("disabled reason")
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    secret_field = "secret"  # noqa: S105 (the field\'s name)
    overlap_setting = "WEBHOOK_SECRET_OVERLAP_HOURS"

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str, channel_id: int | None, channel_ids: set[int]) -> bool:
        covered = self.all_channels or channel_id in channel_ids
        return self.enabled and event_type in self.event_types and covered


class WebhookSequence(models.Model):
    """The last sequence number given to one incident's webhook events. Taking the next numbers
    locks this row until the transaction ends, so numbers follow commit order."""

    incident = models.OneToOneField(
        "oncall.Incident",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("incident"),
    )
    value = models.PositiveBigIntegerField(default=0, verbose_name=_("value"))

    class Meta:
        verbose_name = _("webhook sequence")
        verbose_name_plural = _("webhook sequences")

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.value}"


class WebhookEvent(models.Model):
    """One event, written in the transaction of the change it reports (the outbox), with its
    body as sent: the same bytes on every attempt and to every endpoint."""

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    event_id = models.CharField(max_length=64, unique=True, verbose_name=_("event id"))
    event_type = models.CharField(max_length=16, db_index=True, verbose_name=_("event type"))
    incident = models.ForeignKey(
        "oncall.Incident",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("incident"),
    )
    sequence = models.PositiveBigIntegerField(default=0, verbose_name=_("sequence"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    body = models.TextField(verbose_name=_("body"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: pending until an attempt succeeds, or failed once the
    retries are spent (or an answer said not to retry). The incident and sequence are copied
    from the event: deliveries of one endpoint and incident go out in sequence order."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    incident_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("incident id"))
    sequence = models.PositiveBigIntegerField(default=0, verbose_name=_("sequence"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    # A sender holds the delivery until then; past it, the sender is presumed lost.
    leased_until = models.DateTimeField(null=True, blank=True, verbose_name=_("leased until"))
    last_status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("last status code")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(
                fields=["endpoint", "incident_id", "sequence"],
                name="webhook_delivery_chain",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]
        verbose_name = _("webhook delivery")

    def __str__(self) -> str:
        return f"{self.event.event_type} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One try at sending a delivery: when, how long, what came back (the first 4 KB) or why
    nothing did."""

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="tries", verbose_name=_("delivery")
    )
    started_at = models.DateTimeField(verbose_name=_("started at"))
    duration_ms = models.PositiveIntegerField(default=0, verbose_name=_("duration ms"))
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("status code")
    )
    response_body = models.TextField(blank=True, verbose_name=_("response body"))
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"
