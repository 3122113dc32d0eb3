from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oncall.durations import parse_duration
from oncall.matchers import parse_matchers
from oncall.models import Alert, AlertSource, ApiToken, Channel, Incident, Route, TimelineEntry
from oncall.timeline import display_name

User = get_user_model()


def public_id_field(queryset: Any, **kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="public_id", queryset=queryset, **kwargs)


class UserSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "name"]

    def get_name(self, user: Any) -> str:
        return display_name(user)


class ChannelSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    members = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=User.objects.all(),
        required=False,
        help_text="User ids of the people who may act on the channel's incidents.",
    )

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "description",
            "members",
            "group_by_labels",
            "group_window_minutes",
            "auto_close",
            "created_at",
        ]


class AlertSourceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = public_id_field(
        Channel.objects.all(),
        allow_null=True,
        required=False,
        help_text="Private source: the channel every alert goes to. Null: a shared source "
        "that routes alerts with its routes.",
    )
    routes = serializers.SlugRelatedField(slug_field="public_id", many=True, read_only=True)
    push_url = serializers.CharField(read_only=True, help_text="POST alerts here. Secret.")

    class Meta:
        model = AlertSource
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "channel",
            "routes",
            "enabled",
            "severity_overrides",
            "push_url",
            "created_at",
        ]


class RouteSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    source = public_id_field(AlertSource.objects.all())
    channels = public_id_field(Channel.objects.all(), many=True)

    class Meta:
        model = Route
        fields = ["id", "source", "position", "name", "matchers", "channels", "stop", "is_default"]
        validators = []  # the one-default rule is checked in validate(), with a clear message

    def validate_matchers(self, value: Any) -> Any:
        try:
            parse_matchers(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        source = attrs.get("source") or getattr(self.instance, "source", None)
        is_default = attrs.get("is_default", getattr(self.instance, "is_default", False))
        others = Route.objects.filter(source=source, is_default=True)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if is_default and others.exists():
            raise serializers.ValidationError(
                {"is_default": ["This source has a default route already."]}
            )
        if source is not None and not source.is_shared:
            raise serializers.ValidationError(
                {"source": ["Routes belong to shared sources; this one is private."]}
            )
        return attrs


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = TimelineEntry
        fields = ["kind", "message", "actor", "source", "data", "created_at"]


class AlertSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    incident = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    source = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "incident",
            "channel",
            "source",
            "alert_key",
            "title",
            "description",
            "severity",
            "raw_severity",
            "status",
            "labels",
            "links",
            "images",
            "first_seen",
            "last_seen",
            "resolved_at",
            "event_count",
        ]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    claimed_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    closed_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    is_snoozed = serializers.BooleanField(read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
            "severity",
            "status",
            "is_snoozed",
            "snoozed_until",
            "claimed_by",
            "claimed_at",
            "closed_by",
            "closed_at",
            "channel",
            "alert_count",
            "last_alert_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class IncidentDetailSerializer(IncidentSerializer):
    alerts = AlertSerializer(many=True, read_only=True)
    timeline = TimelineEntrySerializer(many=True, read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "alerts", "timeline"]
        read_only_fields = fields


class ActionResultSerializer(serializers.Serializer):
    changed = serializers.BooleanField(help_text="False when the incident was already so.")
    message = serializers.CharField()
    incident = IncidentDetailSerializer()


@extend_schema_field({"oneOf": [{"type": "string", "example": "2h"}, {"type": "integer"}]})
class DurationField(serializers.Field):
    """``30m``, ``2h``, ``1h30m``, ``1d``, or a number of minutes."""

    def to_internal_value(self, data: Any):
        if not isinstance(data, str | int) or isinstance(data, bool):
            raise serializers.ValidationError("Give a duration such as 30m, 2h or 90.")
        try:
            return parse_duration(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: Any) -> str:
        return f"{int(value.total_seconds() // 60)}m"


class SnoozeSerializer(serializers.Serializer):
    duration = DurationField(help_text="30m, 2h, 1h30m, 1d, or minutes as a number.")


class ApiTokenSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    key = serializers.SerializerMethodField(help_text="Only in the answer that creates it.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "key", "created_at", "last_used_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at"]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_key(self, token: ApiToken) -> str | None:
        return getattr(token, "key", None)  # set on the instance only when it is issued
