from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from oncall import escalation
from oncall.durations import parse_duration
from oncall.events import Severity
from oncall.matchers import parse_matchers
from oncall.models import (
    Alert,
    AlertSource,
    ApiToken,
    Channel,
    EscalationLevel,
    EscalationRule,
    Incident,
    Route,
    TimelineEntry,
)
from oncall.models.escalation import validate_days, validate_severities
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


class EscalationStateSerializer(serializers.Serializer):
    rule = serializers.UUIDField(source="escalation_rule.public_id", allow_null=True)
    next_level = serializers.SerializerMethodField(
        help_text="The level (from 1) the next step notifies; null when no level is left."
    )
    next_step_at = serializers.DateTimeField(source="next_escalation_at", allow_null=True)

    def get_next_level(self, incident: Incident) -> int | None:
        return escalation.next_level(incident)


class IncidentDetailSerializer(IncidentSerializer):
    alerts = AlertSerializer(many=True, read_only=True)
    timeline = TimelineEntrySerializer(many=True, read_only=True)
    escalation = EscalationStateSerializer(source="*", read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "alerts", "timeline", "escalation"]
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


# --- Escalation rules ---------------------------------------------------------------------------


def _drf_detail(exc: DjangoValidationError) -> dict[str, Any]:
    """A model's ValidationError as DRF field errors."""
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def _related_model(model: Any, field: str) -> Any:
    # Models of the integrations, reached through the relation: the core never imports them.
    return model._meta.get_field(field).related_model


class EscalationLevelSerializer(serializers.ModelSerializer):
    users = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=User.objects.all(),
        required=False,
        help_text="User ids, notified in the direct messages of their linked Feishu account.",
    )
    chats = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=_related_model(EscalationLevel, "chats").objects.all(),
        required=False,
        help_text="Feishu chat ids (see /api/v1/feishu-chats/), of the rule's Feishu app.",
    )
    summary = serializers.CharField(source="describe", read_only=True)

    class Meta:
        model = EscalationLevel
        fields = [
            "position",
            "users",
            "notify_channel_members",
            "chats",
            "escalate_after_minutes",
            "repeat_every_minutes",
            "repeat_times",
            "summary",
        ]
        read_only_fields = ["position"]  # the level's place in the rule's list

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Fields left out take the model's defaults: levels are written as a whole list.
        level = EscalationLevel(**{k: v for k, v in attrs.items() if k not in ("users", "chats")})
        try:
            level.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_drf_detail(exc)) from None
        return attrs


class EscalationRuleSerializer(serializers.ModelSerializer):
    """A rule with its levels. ``levels`` is written as a whole: the list given replaces the
    rule's levels, in that order."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = public_id_field(Channel.objects.all())
    severities = serializers.ListField(
        child=serializers.ChoiceField(choices=Severity.choices),
        required=False,
        validators=[validate_severities],
        help_text="Only incidents of these severities. Empty: any.",
    )
    days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        validators=[validate_days],
        help_text="Days the time window starts on, 0 = Monday ... 6 = Sunday. Empty: every day.",
    )
    feishu_app = public_id_field(
        _related_model(EscalationRule, "feishu_app").objects.all(),
        allow_null=True,
        required=False,
        help_text="Id of the Feishu app that delivers the cards. Null: the only enabled app.",
    )
    levels = EscalationLevelSerializer(
        many=True, allow_empty=False, help_text="Replaces all levels; the order is theirs."
    )
    conditions = serializers.CharField(source="describe_conditions", read_only=True)
    warnings = serializers.SerializerMethodField(
        help_text="Targets that won't receive anything (no app, chats the bot left)."
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, rule: EscalationRule) -> list[str]:
        # The only-enabled-app fallback is read once per answer, not once per rule.
        if "default_app" not in self.context:
            self.context["default_app"] = EscalationRule.default_delivering_app()
        return rule.delivery_problems(self.context["default_app"])

    class Meta:
        model = EscalationRule
        fields = [
            "id",
            "channel",
            "position",
            "name",
            "enabled",
            "severities",
            "matchers",
            "days",
            "start_time",
            "end_time",
            "timezone",
            "feishu_app",
            "stop_when",
            "repeat_rule_times",
            "levels",
            "conditions",
            "warnings",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        rule = self._rule_as_it_would_be(attrs)
        try:
            rule.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_drf_detail(exc)) from None
        if "levels" in attrs:
            self._check_targets(attrs["levels"], rule.delivering_app())
        return attrs

    def _rule_as_it_would_be(self, attrs: dict[str, Any]) -> EscalationRule:
        """An unsaved rule with the stored values and the request's changes."""
        values: dict[str, Any] = {}
        if self.instance is not None:
            fields = EscalationRule._meta.concrete_fields
            values = {f.name: getattr(self.instance, f.name) for f in fields if not f.primary_key}
        values.update({k: v for k, v in attrs.items() if k != "levels"})
        return EscalationRule(**values)

    def _check_targets(self, levels: list[dict[str, Any]], app: Any) -> None:
        # Keyed by the level's index, the way DRF reports errors of list items.
        errors: dict[int, dict[str, Any]] = {}
        for index, level in enumerate(levels):
            try:
                EscalationLevel.validate_targets(
                    users=level.get("users", []),
                    chats=level.get("chats", []),
                    notify_channel_members=level.get("notify_channel_members", False),
                    app=app,
                )
            except DjangoValidationError as exc:
                errors[index] = _drf_detail(exc)
        if errors:
            raise serializers.ValidationError({"levels": errors})

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> EscalationRule:
        levels = validated_data.pop("levels")
        rule = EscalationRule.objects.create(**validated_data)
        self._write_levels(rule, levels)
        return rule

    @transaction.atomic
    def update(self, instance: EscalationRule, validated_data: dict[str, Any]) -> EscalationRule:
        levels = validated_data.pop("levels", None)
        rule = super().update(instance, validated_data)
        if levels is not None:
            rule.levels.all().delete()
            self._write_levels(rule, levels)
        return rule

    @staticmethod
    def _write_levels(rule: EscalationRule, levels: list[dict[str, Any]]) -> None:
        for position, data in enumerate(levels):
            users, chats = data.pop("users", []), data.pop("chats", [])
            level = EscalationLevel.objects.create(rule=rule, position=position, **data)
            level.users.set(users)
            level.chats.set(chats)
