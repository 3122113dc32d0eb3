"""Noise reduction in the REST API: alert sources' pipeline rules (and trying them on an event),
channels' silences, and maintenance windows (``oncall.noise``). Permissions as the rest of the
configuration (``oncall.permissions``): pipeline rules, like routes, are staff's with the model
permissions; silences and maintenance windows are read by the members of their channels and
changed by staff with the permissions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
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
from oncall.noise.pipelines import check_rule, recent_events, try_rules
from oncall.noise.silences import check_silence, period_end
from oncall.permissions import (
    MembersReadModelPermissionsWrite,
    ModelPermissions,
    configuration_channels,
    has_model_permission,
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
SILENCE_FIELDS = (
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
)


def _model_errors(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


class PipelineRuleSerializer(serializers.ModelSerializer):
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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        rule = PipelineRule(**{**self._current(), **attrs})
        _model_errors(check_rule(rule))
        return attrs

    def _current(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        return {name: getattr(self.instance, name) for name in ("source", *RULE_FIELDS)}


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


class SilenceSerializer(serializers.ModelSerializer):
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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = {}
        if self.instance is not None:
            current = {f: getattr(self.instance, f) for f in SILENCE_FIELDS}
        _model_errors(check_silence(Silence(**{**current, **attrs})))
        return attrs


def _writable_channel(request: Request, channel: Channel, model: type) -> None:
    """Staff with the model permission change any channel's rows; the queryset already hides
    the others' rows, and a new row may only go to a channel the caller can read."""
    if not configuration_channels(request.user, model).filter(pk=channel.pk).exists():
        raise ValidationError({"channel": ["No such channel."]})


class SilenceViewSet(viewsets.ModelViewSet):
    """Channels' silences: while one is active, new alerts that match open no incident and
    notify nobody (dropped, or kept and listed as silenced). Expired one-time silences stay
    listed until deleted (``?active=true`` lists those active now)."""

    serializer_class = SilenceSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    filterset_fields = {"channel__public_id": ["exact"], "kind": ["exact"], "enabled": ["exact"]}
    ordering_fields = ["created_at", "name"]

    def get_queryset(self) -> QuerySet:
        readable = configuration_channels(self.request.user, Silence).values("pk")
        return (
            Silence.objects.filter(channel__in=readable)
            .select_related("channel", "from_incident")
            .order_by("-created_at", "-id")
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        _writable_channel(self.request, serializer.validated_data["channel"], Silence)
        serializer.save(created_by=self.request.user)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        if "channel" in serializer.validated_data:
            _writable_channel(self.request, serializer.validated_data["channel"], Silence)
        serializer.save()


class MaintenanceWindowSerializer(serializers.ModelSerializer):
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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        merged = {}
        if self.instance is not None:
            merged = {
                f: getattr(self.instance, f)
                for f in ("name", "channel", "source", "starts_at", "ends_at")
            }
        window = MaintenanceWindow(**{**merged, **attrs})
        try:
            window.clean()
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from None
        return attrs


class MaintenanceWindowViewSet(viewsets.ModelViewSet):
    """Maintenance windows of a channel or an alert source: nothing notifies from start to
    end; incidents still open, marked ``in_maintenance``. Members read their channels'
    windows; staff with the permissions read all and change them."""

    serializer_class = MaintenanceWindowSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    filterset_fields = {"channel__public_id": ["exact"], "source__public_id": ["exact"]}
    ordering_fields = ["starts_at", "ends_at"]

    def get_queryset(self) -> QuerySet:
        windows = MaintenanceWindow.objects.select_related("channel", "source")
        if not has_model_permission(self.request.user, MaintenanceWindow, "view"):
            readable = configuration_channels(self.request.user, MaintenanceWindow).values("pk")
            windows = windows.filter(Q(channel__in=readable))
        return windows.order_by("-starts_at", "-id")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save(created_by=self.request.user)
