"""Noise reduction in the REST API: alert sources' pipeline rules (and trying them on an event),
channels' silences, and maintenance windows (``oncall.noise``). Permissions as the rest of the
configuration (``oncall.permissions``): pipeline rules, like routes, are staff's with the model
permissions; silences and maintenance windows are read by the members of their channels and
changed by staff with the permissions."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from oncall.api.serializers import public_id_field
from oncall.events import AlertEvent
from oncall.models import AlertSource, Channel, MaintenanceWindow, PipelineRule, Silence
from oncall.noise.pipelines import recent_events, try_rules
from oncall.noise.silences import period_end
from oncall.permissions import (
    MembersReadModelPermissionsWrite,
    ModelPermissions,
    has_model_permission,
    visible_channels,
)

RULE_FIELDS = (
    "position",
    "name",
    "enabled",
    "condition",
    "action",
    "severity",
    "template",
    "labels",
)


# --- Shared by the noise resources -------------------------------------------------------------


class ModelCheckedSerializer(serializers.ModelSerializer):
    """Validates the row as it would be saved (the current one with the request's changes) by
    the model's own ``clean``: the admin and the API refuse the same things, with the same
    reasons, by field where the model names one."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        row = copy.copy(self.instance) if self.instance is not None else self.Meta.model()
        for name, value in attrs.items():
            setattr(row, name, value)
        try:
            row.clean()
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else error.messages
            raise ValidationError(detail) from None
        return attrs


class ChannelRowsViewSet(viewsets.ModelViewSet):
    """Configuration rows that belong to a channel, or to an alert source (``channel`` /
    ``source`` fields): silences, maintenance windows, inhibition rules. Everyone signed in
    reads the rows of their own channels (a source's rows through the channel it feeds);
    staff with the view permission read all; changes take the admin's model permissions
    (``MembersReadModelPermissionsWrite``), and a new or moved row must go to a channel (or a
    source) the caller can read. The person who makes a row is recorded where it says who."""

    model: ClassVar[type[Model]]
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    ordering: ClassVar[tuple[str, ...]] = ("-id",)

    def get_queryset(self) -> QuerySet:
        rows = self.model.objects.select_related(*self._owners())
        if not has_model_permission(self.request.user, self.model, "view"):
            rows = rows.filter(self._readable(visible_channels(self.request.user).values("pk")))
        return rows.order_by(*self.ordering)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._check_readable_owner(serializer.validated_data)
        extra = {"created_by": self.request.user} if self._says_who() else {}
        serializer.save(**extra)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self._check_readable_owner(serializer.validated_data)
        serializer.save()

    def _owners(self) -> list[str]:
        names = {field.name for field in self.model._meta.get_fields()}
        return [name for name in ("channel", "source") if name in names]

    def _says_who(self) -> bool:
        return any(field.name == "created_by" for field in self.model._meta.get_fields())

    def _readable(self, channels: QuerySet) -> Q:
        where = Q(channel__in=channels)
        if "source" in self._owners():
            where |= Q(source__channel__in=channels)
        return where

    def _check_readable_owner(self, data: dict[str, Any]) -> None:
        """Staff who hold the view permission read every row; anyone else (staff allowed
        to add but not to view) may only give a row to a channel they are a member of: the
        queryset hides the others' rows, and so does this."""
        user = self.request.user
        if has_model_permission(user, self.model, "view"):
            return
        readable = visible_channels(user)
        channel, source = data.get("channel"), data.get("source")
        if channel is not None and not readable.filter(pk=channel.pk).exists():
            raise ValidationError({"channel": ["No such channel."]})
        if source is not None and not readable.filter(pk=source.channel_id).exists():
            raise ValidationError({"source": ["No such alert source."]})


# --- Pipeline rules ----------------------------------------------------------------------------


class PipelineRuleSerializer(ModelCheckedSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    source = public_id_field(AlertSource.objects.all())

    class Meta:
        model = PipelineRule
        fields = [
            "id",
            "source",
            "position",
            "name",
            "enabled",
            "condition",
            "action",
            "severity",
            "template",
            "labels",
            "updated_at",
        ]


class TriedRuleSerializer(serializers.ModelSerializer):
    """A rule to try: its fields' types checked here, the rule as a whole by the try."""

    class Meta:
        model = PipelineRule
        fields = list(RULE_FIELDS)


class TryPipelineSerializer(serializers.Serializer):
    source = public_id_field(AlertSource.objects.all())
    rules = TriedRuleSerializer(
        many=True,
        required=False,
        help_text="The rules to try, unsaved, in order; omitted: the source's saved rules.",
    )
    event = serializers.JSONField(
        required=False,
        help_text="An event as the API shows them (title, severity, labels, ...); omitted: "
        "one of the source's recent events (``recent``).",
    )
    recent = serializers.IntegerField(
        required=False, default=0, min_value=0, help_text="Which recent event, 0 the newest."
    )


class PipelineRuleViewSet(viewsets.ModelViewSet):
    """Alert sources' pipeline rules, run in ``position`` order on every event of their source
    before routing. Staff with the permissions only, as alert sources."""

    serializer_class = PipelineRuleSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    lookup_field = "public_id"
    filterset_fields = {"source__public_id": ["exact"]}
    ordering_fields = ["position"]

    def get_queryset(self) -> QuerySet:
        return PipelineRule.objects.select_related("source").order_by("source_id", "position", "id")

    @extend_schema(
        request=TryPipelineSerializer,
        responses=inline_serializer(
            "TriedPipeline",
            {
                "before": serializers.JSONField(),
                "after": serializers.JSONField(),
                "dropped": serializers.BooleanField(),
            },
        ),
    )
    @action(detail=False, methods=["post"], url_path="try")
    def try_rules(self, request: Request) -> Response:
        """Run rules (given, unsaved, or the source's own) on an event (given, or one of the
        source's recent events, as the sender sent it). Nothing is saved. 400 names what is
        wrong with a rule, by its number from 1."""
        given = TryPipelineSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        source = given.validated_data["source"]
        rules = self._rules(source, given.validated_data.get("rules"))
        event = self._event(source, given.validated_data)
        tried = try_rules(rules, event)
        if "errors" in tried:
            raise ValidationError({"rules": tried["errors"]})
        return Response(tried)

    def _rules(self, source: AlertSource, given: list[dict] | None) -> list[PipelineRule]:
        if given is None:
            return list(source.pipeline_rules.order_by("position", "id"))
        return [PipelineRule(source=source, **fields) for fields in given]

    def _event(self, source: AlertSource, data: dict[str, Any]) -> AlertEvent:
        raw = data.get("event")
        if raw is not None:
            try:
                return AlertEvent.from_json({"alert_key": "", "kind": "firing", **raw})
            except (KeyError, TypeError, ValueError) as error:
                raise ValidationError({"event": [f"Not an event: {error}"]}) from None
        events = recent_events(source, data["recent"] + 1)
        if len(events) <= data["recent"]:
            raise ValidationError({"recent": ["The source has no such recent event."]})
        return events[data["recent"]]


# --- Silences and maintenance windows ----------------------------------------------------------


class SilenceSerializer(ModelCheckedSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = public_id_field(Channel.objects.all())
    from_incident = serializers.SlugRelatedField(
        slug_field="public_id",
        read_only=True,
        allow_null=True,
        help_text="The incident whose quick silence this is; null for others.",
    )
    active_until = serializers.SerializerMethodField(
        help_text="When its current period ends; null when it is not active now."
    )

    class Meta:
        model = Silence
        fields = [
            "id",
            "channel",
            "name",
            "enabled",
            "kind",
            "starts_at",
            "ends_at",
            "weekdays",
            "start_time",
            "end_time",
            "time_zone",
            "condition",
            "behaviour",
            "from_incident",
            "created_by",
            "created_at",
            "updated_at",
            "active_until",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def get_active_until(self, silence: Silence) -> str | None:
        end = period_end(silence, timezone.now())
        return end.isoformat() if end else None


class SilenceViewSet(ChannelRowsViewSet):
    """Channels' silences: while one is active, new alerts that match open no incident and
    notify nobody (dropped, or kept and listed as silenced). Expired one-time silences stay
    listed until deleted (``?active=true`` lists those active now)."""

    model = Silence
    serializer_class = SilenceSerializer
    filterset_fields = {"channel__public_id": ["exact"], "kind": ["exact"], "enabled": ["exact"]}
    ordering_fields = ["created_at", "name"]
    ordering = ("-created_at", "-id")

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("from_incident")


class MaintenanceWindowSerializer(ModelCheckedSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = public_id_field(Channel.objects.all(), allow_null=True, required=False)
    source = public_id_field(AlertSource.objects.all(), allow_null=True, required=False)
    running = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "name",
            "description",
            "channel",
            "source",
            "starts_at",
            "ends_at",
            "running",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["created_by", "created_at"]


class MaintenanceWindowViewSet(ChannelRowsViewSet):
    """Maintenance windows of a channel or an alert source: nothing notifies from start to
    end; incidents still open, marked ``in_maintenance``. Members read their channels'
    windows (and those of the sources that feed them); staff with the permissions read all
    and change them."""

    model = MaintenanceWindow
    serializer_class = MaintenanceWindowSerializer
    filterset_fields = {"channel__public_id": ["exact"], "source__public_id": ["exact"]}
    ordering_fields = ["starts_at", "ends_at"]
    ordering = ("-starts_at", "-id")
