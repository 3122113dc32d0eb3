from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from oncall.crypto import EncryptedTextField
from oncall.events import Severity
from oncall.matchers import parse_matchers
from oncall.models.versions import keep_versions
from oncall.sources import UnknownSourceKind, source_kind, source_kind_choices


def new_push_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _validate_severity_overrides(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError('Enter an object such as {"P1": "critical", "disaster": "critical"}.')
    bad = {raw: sev for raw, sev in value.items() if sev not in Severity.values}
    if bad:
        raise ValidationError(
            f"Unknown severities {sorted(set(bad.values()))}: use {', '.join(Severity.values)}."
        )


class AlertSource(models.Model):
    """An inbound integration: monitoring systems POST alerts to its push URL."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    kind = models.CharField(max_length=32, choices=source_kind_choices, verbose_name=_("kind"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    channel = models.ForeignKey(
        "oncall.Channel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_sources",
        help_text=_(
            "Private source: every alert goes to this channel. "
            "Leave empty for a shared source that routes alerts with its routes."
        ),
        verbose_name=_("channel"),
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    # The token is part of the push URL an admin copies, so it must be readable: encrypted at
    # rest, looked up by its SHA-256 (a random 192-bit token needs no slower hash).
    token = EncryptedTextField(default=new_push_token, editable=False, verbose_name=_("token"))
    token_hash = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("token hash")
    )
    severity_overrides = models.JSONField(
        default=dict,
        blank=True,
        validators=[_validate_severity_overrides],
        help_text=_(
            "Map the sender's own severity words to critical / warning / info, "
            'e.g. {"P1": "critical", "disaster": "critical"}. Applied after the default mapping.'
        ),
        verbose_name=_("severity overrides"),
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Settings of this kind of source (its page says which); empty for most kinds."),
        verbose_name=_("options"),
    )
    # A secret the sender signs its pushes with (Sentry's client secret, a robot's signing
    # key), kept like the push token: encrypted at rest, never shown back.
    signing_secret = EncryptedTextField(blank=True, default="", verbose_name=_("signing secret"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # A new value whenever the source's pipeline rules change (``PipelineRule``'s saves and
    # queryset writes set it): a process keeps the compiled pipeline of the version it last
    # saw, so that a push, which reads this row anyway, costs no query for its rules.
    pipeline_version = models.UUIDField(
        default=uuid.uuid4, editable=False, verbose_name=_("pipeline version")
    )
    # The same for the source's own inhibit rules (``InhibitRule.source``).
    noise_version = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("alert source")
        verbose_name_plural = _("alert sources")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.token_hash = hash_token(self.token)
        keep_versions(self, ["pipeline_version", "noise_version"], kwargs)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if not self.kind:
            return
        try:
            kind = source_kind(self.kind)
        except UnknownSourceKind:
            return  # the field's own choices say so
        try:
            self.options = kind.clean_options(self.options)
        except ValidationError as error:
            raise ValidationError({"options": error.messages}) from None

    @property
    def is_shared(self) -> bool:
        return self.channel_id is None

    @property
    def push_url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}/push/{self.token}"

    def rotate_token(self) -> None:
        """A new push URL; the old one stops working at once."""
        self.token = new_push_token()
        self.save(update_fields=["token", "token_hash"])

    def map_severity(self, raw: str, default: Severity) -> Severity:
        override = self.severity_overrides.get(raw)
        return Severity(override) if override else default


class Route(models.Model):
    """A shared source's routing rule: when every matcher holds, the alert goes to channels."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    source = models.ForeignKey(
        AlertSource, on_delete=models.CASCADE, related_name="routes", verbose_name=_("source")
    )
    position = models.PositiveIntegerField(
        default=0, help_text=_("Routes are tried in this order."), verbose_name=_("position")
    )
    name = models.CharField(max_length=120, blank=True, verbose_name=_("name"))
    matchers = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            'All must hold, e.g. [{"key": "labels.team", "op": "eq", "value": "db"}]. '
            "Ops: eq, neq, re, nre, exists, absent. Keys: labels.<name>, title, description, "
            "severity, alert_key."
        ),
        verbose_name=_("matchers"),
    )
    channels = models.ManyToManyField(
        "oncall.Channel", related_name="routes", verbose_name=_("channels")
    )
    stop = models.BooleanField(
        default=True,
        help_text=_("Stop at this route when it matches; otherwise try the next ones."),
        verbose_name=_("stop"),
    )
    is_default = models.BooleanField(
        default=False,
        help_text=_(
            "The default route takes alerts that no other route matched (matchers ignored)."
        ),
        verbose_name=_("is default"),
    )

    class Meta:
        ordering = ["source", "is_default", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"],
                condition=models.Q(is_default=True),
                name="one_default_route_per_source",
            ),
        ]
        verbose_name = _("route")
        verbose_name_plural = _("routes")

    def __str__(self) -> str:
        if self.is_default:
            return f"{self.source}: default route"
        return f"{self.source}: {self.name or f'route {self.position}'}"

    def clean(self) -> None:
        try:
            parse_matchers(self.matchers)
        except ValidationError as exc:
            raise ValidationError({"matchers": exc.messages}) from None


class InboundEvent(models.Model):
    """One push request as accepted: stored before the sender gets its 2xx."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PROCESSED = "processed", _("processed")
        UNROUTED = "unrouted", _("matched no route")
        FAILED = "failed", _("failed")

    request_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("request id")
    )
    source = models.ForeignKey(
        AlertSource,
        on_delete=models.CASCADE,
        related_name="inbound_events",
        verbose_name=_("source"),
    )
    received_at = models.DateTimeField(db_index=True, verbose_name=_("received at"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    # [{"event": AlertEvent.to_json(), "channels": [channel ids]}]
    events = models.JSONField(default=list, verbose_name=_("events"))
    notes = models.JSONField(default=list, blank=True, verbose_name=_("notes"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    body_bytes = models.PositiveIntegerField(default=0, verbose_name=_("body bytes"))
    # A big push is merged in chunks, each its own transaction (``oncall.ingest.process``):
    # how many entries of ``events`` are merged, when the last chunk committed (the sweep
    # leaves a push that is moving alone), and the incidents its chunks opened whose
    # escalation waits for a later chunk that may still change them.
    merged = models.PositiveIntegerField(default=0, verbose_name=_("merged"))
    progressed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("progressed at"))
    waiting_incidents = models.JSONField(
        default=list, blank=True, verbose_name=_("waiting incidents")
    )
    # Events of the push its source's pipeline dropped (``oncall.noise.pipelines``): the
    # source's "dropped by pipeline today" adds these up.
    pipeline_dropped = models.PositiveIntegerField(default=0, verbose_name=_("pipeline dropped"))

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_received"),
            models.Index(fields=["source", "received_at"], name="inbound_source_received"),
        ]
        verbose_name = _("inbound event")
        verbose_name_plural = _("inbound events")

    def __str__(self) -> str:
        when = f"{self.received_at:%Y-%m-%d %H:%M:%S}"
        return f"{self.source} @ {when} ({self.get_status_display()})"

    @property
    def event_count(self) -> int:
        return len(self.events)

    # The admin's column title for the property (Django reads it from the getter).
    event_count.fget.short_description = _("event count")  # type: ignore[attr-defined]
