"""Custom incident actions (call a receiver from an incident: roll back a release, update a
status page) and link integrations (a Grafana dashboard for the incident's ``service``): what a
channel adds to its incidents beyond the lifecycle, offered through ``oncall.offers``
(``oncall.custom_actions``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oncall.crypto import EncryptedTextField
from oncall.models.signed_receivers import SignedReceiverMixin
from oncall.outbound import validate_url

#: The knowledge base's limits: five custom actions and three link integrations per channel.
MAX_ACTIONS_PER_CHANNEL = 5
MAX_LINKS_PER_CHANNEL = 3

validate_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #rrggbb, e.g. #d83931.")
)


validate_content_type = RegexValidator(
    r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$",
    _("Enter a media type, e.g. application/json or text/plain; charset=utf-8."),
)


def _validate_url_template(value: str) -> None:
    from oncall.custom_actions.templates import validate_url_template

    validate_url_template(value)


class CustomAction(SignedReceiverMixin, models.Model):
    """A button on the incidents of its channels that calls ``url``, signed the Standard
    Webhooks way with the action's own secret, and writes the answer on the timeline."""

    class Method(models.TextChoices):
        POST = "POST", _("POST")
        PUT = "PUT", _("PUT")
        PATCH = "PATCH", _("PATCH")

    class Style(models.TextChoices):
        DEFAULT = "default", _("default")
        PRIMARY = "primary", _("primary")
        DANGER = "danger", _("danger (red)")

    class BodyKind(models.TextChoices):
        PAYLOAD = "payload", _("the incident as JSON (the knowledge base's i_custom event)")
        TEMPLATE = "template", _("a template over the incident")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(
        _("name"), max_length=60, help_text=_("The button's label, e.g. “Roll back”.")
    )
    description = models.TextField(_("description"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    channels = models.ManyToManyField(
        "oncall.Channel",
        related_name="custom_actions",
        verbose_name=_("channels"),
        help_text=_("The channels whose incidents offer it (at most five actions per channel)."),
    )
    icon = models.CharField(
        _("icon"), max_length=8, blank=True, help_text=_("An emoji shown before the name.")
    )
    colour = models.CharField(
        _("colour"),
        max_length=7,
        blank=True,
        validators=[validate_colour],
        help_text=_("A #rrggbb colour for the button on the incident page."),
    )
    style = models.CharField(
        _("style"), max_length=16, choices=Style.choices, default=Style.DEFAULT
    )
    confirm = models.BooleanField(
        _("ask for confirmation"),
        default=False,
        help_text=_("Ask “Run … on #N?” before calling it (every surface asks)."),
    )
    url = models.CharField(
        _("URL"),
        max_length=2000,
        validators=[validate_url],
        help_text=_("Called through the outbound guard: https, no redirects followed."),
    )
    method = models.CharField(_("method"), max_length=8, choices=Method.choices, default="POST")
    # JSON object of header name -> value, encrypted: headers often carry a receiver's token.
    headers_json = EncryptedTextField(_("headers"), blank=True, default="")
    body_kind = models.CharField(
        _("body"), max_length=16, choices=BodyKind.choices, default=BodyKind.PAYLOAD
    )
    body_template = models.TextField(
        _("body template"),
        blank=True,
        help_text=_(
            "With “a template over the incident”: the body, in the notification templates' "
            "language ({{ Title }}, {{ Labels.service }}, ...). Values printed into a JSON "
            "body are escaped as JSON strings."
        ),
    )
    content_type = models.CharField(
        _("content type"),
        max_length=100,
        default="application/json",
        validators=[validate_content_type],
    )
    signing_secret = EncryptedTextField(editable=False, verbose_name=_("signing secret"))
    # The secret before the last rotation, which keeps signing until ``previous_secret_until``.
    previous_secret = EncryptedTextField(
        blank=True, default="", editable=False, verbose_name=_("previous secret")
    )
    previous_secret_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("previous secret until")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("custom action")
        verbose_name_plural = _("custom actions")

    secret_field = "signing_secret"  # noqa: S105 (the field\'s name)
    overlap_setting = "CUSTOM_ACTION_SECRET_OVERLAP_HOURS"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from oncall.custom_actions.templates import check_body

        super().clean()
        if self.body_kind == self.BodyKind.TEMPLATE:
            if not self.body_template.strip():
                raise ValidationError(
                    {"body_template": _("Write the body, or send the incident as JSON.")}
                )
            try:
                check_body(self.body_template, self.content_type)
            except ValidationError as error:
                raise ValidationError({"body_template": error.messages}) from None

    @property
    def key(self) -> str:
        """Its key among the actions an incident offers (``oncall.offers``)."""
        return f"action:{self.pk}"

    def check_room_in(self, channels: Iterable[Any]) -> None:
        """Each channel offers at most :data:`MAX_ACTIONS_PER_CHANNEL` actions (the knowledge
        base's limit: a card has room for so many buttons): ``ValidationError`` on
        ``channels`` naming the full one. The admin's form and the API check with it before
        offering the action in ``channels``. Inside a transaction the channels' rows are locked
        first (in id order), so that two actions added at once count each other."""
        from oncall.models import Channel

        ids = sorted({channel.pk for channel in channels})
        if connection.in_atomic_block:
            list(Channel.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
        for channel in Channel.objects.filter(pk__in=ids).order_by("name"):
            if channel.custom_actions.exclude(pk=self.pk).count() >= MAX_ACTIONS_PER_CHANNEL:
                raise ValidationError(
                    {
                        "channels": _(
                            "%(channel)s already offers %(limit)s custom actions, the most a "
                            "channel may."
                        )
                        % {"channel": channel.name, "limit": MAX_ACTIONS_PER_CHANNEL}
                    }
                )


class CustomActionRun(models.Model):
    """One click on a custom action: what was called, for whom, and what came back. A run in
    flight (pending or calling) is unique per action and incident: a double click, a retried
    request or a second person's click at the same moment finds it and calls nothing."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for a worker")
        CALLING = "calling", _("calling")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        NOT_CALLED = "not_called", _("not called")
        LOST = "lost", _("result lost")

    IN_FLIGHT = (Status.PENDING, Status.CALLING)

    action = models.ForeignKey(
        CustomAction, on_delete=models.CASCADE, related_name="runs", verbose_name=_("action")
    )
    incident = models.ForeignKey(
        "oncall.Incident",
        on_delete=models.CASCADE,
        related_name="custom_action_runs",
        verbose_name=_("incident"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    # Where the click came from: an ActionSource value or a chat platform's name.
    source = models.CharField(max_length=32, verbose_name=_("source"))
    via = models.JSONField(default=dict, blank=True, verbose_name=_("via"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    # The call's ``webhook-id``: receivers deduplicate with it.
    message_id = models.CharField(max_length=64, unique=True, verbose_name=_("message id"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    called_at = models.DateTimeField(null=True, blank=True, verbose_name=_("called at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("status code")
    )
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    answer = models.TextField(
        blank=True, help_text=_("The first KB of the receiver's answer."), verbose_name=_("answer")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "incident"],
                condition=models.Q(status__in=["pending", "calling"]),
                name="custom_action_one_run_in_flight",
            )
        ]
        indexes = [
            models.Index(
                fields=["action", "incident", "-created_at"], name="custom_action_run_last"
            ),
            models.Index(
                fields=["status", "created_at"],
                name="custom_action_run_in_flight",
                condition=models.Q(status__in=["pending", "calling"]),
            ),
        ]
        verbose_name = _("custom action run")
        verbose_name_plural = _("custom action runs")

    def __str__(self) -> str:
        return f"{self.action_id} on {self.incident_id}: {self.status}"

    @property
    def in_flight(self) -> bool:
        return self.status in self.IN_FLIGHT


class LinkIntegration(models.Model):
    """A link shown with a channel's incidents (on cards and the incident page), its URL a
    template over the incident: ``https://grafana.example.com/d/svc?var-service={{
    Labels.service }}``. A value the incident lacks is left empty: the link still opens."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    channel = models.ForeignKey(
        "oncall.Channel",
        on_delete=models.CASCADE,
        related_name="link_integrations",
        verbose_name=_("channel"),
    )
    name = models.CharField(_("name"), max_length=60, help_text=_("The link's text."))
    url_template = models.CharField(
        _("URL template"),
        max_length=2000,
        validators=[_validate_url_template],
        help_text=_(
            "An http(s) URL; {{ Labels.service }}, {{ Num }}, {{ Title }} and the other "
            "notification template variables are replaced by the incident's values, "
            "URL-encoded."
        ),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["channel", "position", "id"]
        verbose_name = _("link integration")
        verbose_name_plural = _("link integrations")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Counted under the channel's row lock: two links added at once cannot make four."""
        from oncall.models import Channel

        with transaction.atomic():
            Channel.objects.select_for_update().filter(pk=self.channel_id).first()
            if self._others().count() >= MAX_LINKS_PER_CHANNEL:
                raise ValidationError(self._too_many())
            super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.channel_id is not None and self._others().count() >= MAX_LINKS_PER_CHANNEL:
            raise ValidationError(self._too_many())

    def _others(self) -> models.QuerySet[LinkIntegration]:
        return LinkIntegration.objects.filter(channel_id=self.channel_id).exclude(pk=self.pk)

    def _too_many(self) -> str:
        return _(
            "A channel has at most %(limit)s link integrations: remove one before adding another."
        ) % {"limit": MAX_LINKS_PER_CHANNEL}
