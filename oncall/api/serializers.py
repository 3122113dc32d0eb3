from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from oncall import escalation, lifecycle
from oncall.changes import changes_before
from oncall.durations import parse_duration
from oncall.events import Severity
from oncall.matchers import parse_matchers
from oncall.models import (
    Alert,
    AlertSource,
    ApiToken,
    ChangeEvent,
    Channel,
    EscalationLevel,
    EscalationRule,
    Incident,
    IncidentNote,
    NotificationTemplate,
    RefusedPush,
    Route,
    Schedule,
    TimelineEntry,
)
from oncall.models.escalation import validate_days, validate_severities
from oncall.noise.maintenance import announced
from oncall.noise.pipelines import dropped_today
from oncall.notes import MAX_NOTE_CHARS
from oncall.notify.media import media
from oncall.notify.preview import check
from oncall.offers import incident_actions, incident_links
from oncall.platforms import (
    level_has_platform_targets,
    platform_level_fields,
    platform_rule_fields,
    rule_problems,
    save_platform_targets,
    validate_platform_targets,
)
from oncall.sources import source_kind
from oncall.timeline import display_name, person_fields

User = get_user_model()


def public_id_field(queryset: Any, **kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="public_id", queryset=queryset, **kwargs)


class PersonSerializer(serializers.Serializer):
    """A person named in an answer (``oncall.timeline.person_fields``): a shift's, a swap's,
    a line of insights."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return instance if isinstance(instance, dict) else person_fields(instance)


class UserSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField(
        help_text="Null unless you are staff with the view permission on users, or share a "
        "channel with this person."
    )

    class Meta:
        model = User
        fields = ["id", "username", "email", "name"]

    def get_name(self, user: Any) -> str:
        return display_name(user)

    def get_email(self, user: Any) -> str | None:
        # ``email_visible`` is annotated by ``permissions.with_email_visibility``.
        return user.email if getattr(user, "email_visible", False) else None


def notification_template_field() -> serializers.SlugRelatedField:
    return public_id_field(
        NotificationTemplate.objects.all(),
        allow_null=True,
        required=False,
        help_text="The notification template's id; null: the built-in template.",
    )


class AnnouncedMaintenanceSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    description = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    running = serializers.BooleanField(source="is_active")


class ChannelSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    members = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=User.objects.all(),
        required=False,
        help_text="User ids of the people who may act on the channel's incidents.",
    )
    notification_template = notification_template_field()

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
            "notification_template",
            "card_language",
            "created_at",
            # noise reduction (oncall.noise)
            "grouping_branches",
            "strict_grouping",
            "storm_thresholds",
            "flapping",
            "flapping_times",
            "flapping_minutes",
            "maintenance",
        ]

    # Noise reduction: the channel's maintenance windows, announced (``oncall.noise``).
    maintenance = serializers.SerializerMethodField(
        help_text="Maintenance windows running now or to come that cover the channel (its "
        "own and its sources'): nothing notifies during them. Soonest first."
    )

    @extend_schema_field(AnnouncedMaintenanceSerializer(many=True))
    def get_maintenance(self, channel: Channel) -> list[dict[str, Any]]:
        return AnnouncedMaintenanceSerializer(announced(channel), many=True).data


class SnippetSerializer(serializers.Serializer):
    title = serializers.CharField()
    language = serializers.CharField()
    text = serializers.CharField()


class SetupGuideSerializer(serializers.Serializer):
    steps = serializers.ListField(child=serializers.CharField())
    snippets = SnippetSerializer(many=True)


class SourceStatusRowSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="What the row is about, e.g. “Last ping”.")
    value = serializers.CharField(help_text="Its value now, as the source's page shows it.")


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
    signing_secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text="For senders that sign their pushes. Write-only: never returned; "
        'omit to keep the current one, "" to remove it.',
    )
    has_signing_secret = serializers.SerializerMethodField()
    pipeline_dropped_today = serializers.SerializerMethodField(
        help_text="Events its pipeline dropped since midnight (the console's time zone)."
    )
    setup = serializers.SerializerMethodField(
        help_text="How to configure the sender: steps and copyable snippets."
    )
    status = serializers.SerializerMethodField(
        help_text="The source's state now, for a kind that keeps one (a heartbeat: its state, "
        "last ping and when it is missing), as the source's page shows it; empty for others."
    )

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
            "options",
            "signing_secret",
            "has_signing_secret",
            "push_url",
            "setup",
            "status",
            "created_at",
            "pipeline_dropped_today",
        ]

    def get_has_signing_secret(self, source: AlertSource) -> bool:
        return bool(source.signing_secret)

    def get_pipeline_dropped_today(self, source: AlertSource) -> int:
        return dropped_today(source)

    @extend_schema_field(SetupGuideSerializer)
    def get_setup(self, source: AlertSource) -> dict[str, Any]:
        guide = source_kind(source.kind).source_setup_guide(source)
        return {
            "steps": [str(step) for step in guide.steps],
            "snippets": [snippet._asdict() for snippet in guide.snippets],
        }

    @extend_schema_field(SourceStatusRowSerializer(many=True))
    def get_status(self, source: AlertSource) -> list[dict[str, str]]:
        rows = source_kind(source.kind).status(source)
        return [{"label": str(label), "value": str(value)} for label, value in rows]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The kind's own check of its options (the admin runs it through ``model.clean``)."""
        kind_name = attrs.get("kind") or (self.instance.kind if self.instance else None)
        if kind_name is None:
            return attrs
        options = attrs.get("options", self.instance.options if self.instance else {})
        try:
            attrs["options"] = source_kind(kind_name).clean_options(options)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"options": error.messages}) from None
        return attrs


class TryPushSerializer(serializers.Serializer):
    sample = serializers.JSONField(help_text="A body the sender posts, as JSON.")
    options = serializers.JSONField(
        required=False,
        help_text="The kind's options to read it with (a custom webhook's mapping); "
        "default: the saved ones.",
    )


class TriedPushSerializer(serializers.Serializer):
    MAX_EVENTS = 50

    count = serializers.IntegerField(help_text="How many events the sample gives.")
    events = serializers.ListField(
        child=serializers.DictField(), help_text="The first 50, as they would be stored."
    )


class RefusedPushSerializer(serializers.ModelSerializer):
    """A push the source refused (400 or 413 because of its body), newest first; the payload
    is cut to 16 KB (``payload_truncated``) and no header is kept."""

    class Meta:
        model = RefusedPush
        fields = [
            "received_at",
            "status",
            "code",
            "message",
            "field",
            "payload",
            "payload_truncated",
            "body_bytes",
        ]
        read_only_fields = fields


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


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: invalid, not_found, ...")
    message = serializers.CharField(help_text="For people: what is wrong.")
    fields = serializers.JSONField(
        required=False, help_text="Per field, what is wrong with it (400 only)."
    )


class ErrorSerializer(serializers.Serializer):
    """The one shape of every API error (``oncall.api.errors``)."""

    error = ErrorDetailSerializer()


class IncidentNoteSerializer(serializers.ModelSerializer):
    """A note: ``body`` is what its author wrote (Markdown), ``html`` how pages show it."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    incident = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    author = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    author_name = serializers.SerializerMethodField()
    body = serializers.CharField(
        allow_blank=True,  # the lifecycle says what an empty note lacks
        trim_whitespace=False,  # the lifecycle's rule trims, and measures what it keeps
        help_text=f"Markdown (CommonMark), at most {MAX_NOTE_CHARS:,} characters. Raw "
        "HTML shows as typed; links only to http, https and mailto.",
    )
    html = serializers.SerializerMethodField(help_text="The body rendered, safe to show.")
    source = serializers.CharField(read_only=True, help_text="web, api, or a chat platform.")
    editable_until = serializers.DateTimeField(
        read_only=True,
        help_text="Until when its author may edit or delete it (NOTE_EDIT_WINDOW_MINUTES).",
    )

    class Meta:
        model = IncidentNote
        fields = [
            "id",
            "incident",
            "author",
            "author_name",
            "body",
            "html",
            "source",
            "created_at",
            "edited_at",
            "editable_until",
        ]
        read_only_fields = ["created_at", "edited_at"]

    def get_author_name(self, note: IncidentNote) -> str:
        return display_name(note.author) if note.author_id else "a deleted user"

    def get_html(self, note: IncidentNote) -> str:
        return str(note.html)

    def validate_body(self, value: str) -> str:
        try:
            return lifecycle.clean_note_body(value)
        except lifecycle.InvalidRequest as exc:
            raise serializers.ValidationError(exc.message) from None


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    note = IncidentNoteSerializer(
        read_only=True, allow_null=True, help_text="The note, for entries of kind note."
    )

    message = serializers.CharField(
        source="text",
        read_only=True,
        help_text="What the entry says, in the request's language (Accept-Language). Entries "
        "written before message kinds existed show their stored English text.",
    )
    message_kind = serializers.CharField(
        read_only=True,
        help_text="A stable key of what the entry says (e.g. claimed, alert.added), with "
        "params: for programs that word it themselves. Empty for older entries.",
    )
    params = serializers.JSONField(
        read_only=True, help_text="The values of message_kind's placeholders."
    )

    class Meta:
        model = TimelineEntry
        fields = [
            "kind",
            "message",
            "message_kind",
            "params",
            "actor",
            "source",
            "data",
            "created_at",
            "note",
        ]


class AlertSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    incident = serializers.SlugRelatedField(
        slug_field="public_id",
        read_only=True,
        allow_null=True,
        help_text="Empty for a suppressed alert: it opened no incident.",
    )
    channel = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    source = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)
    started_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the source says the alert started (Alertmanager's startsAt); null when "
        "it gave no time. first_seen is when the console first received it.",
    )

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
            "started_at",
            "first_seen",
            "last_seen",
            "resolved_at",
            "event_count",
            "suppressed",
            "suppressed_detail",
            "pipeline",
        ]
        read_only_fields = fields


class ChangeEventSerializer(serializers.ModelSerializer):
    """A change a change source reported (a deployment, a change ticket): never an incident."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    source = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    started_at = serializers.DateTimeField(
        read_only=True, help_text="The time of its first event, as the sender gave it."
    )
    changed_at = serializers.DateTimeField(
        read_only=True, help_text="The time of its latest event, as the sender gave it."
    )

    class Meta:
        model = ChangeEvent
        fields = [
            "id",
            "channel",
            "source",
            "change_key",
            "title",
            "description",
            "link",
            "labels",
            "status",
            "started_at",
            "changed_at",
            "event_count",
            "received_at",
            "updated_at",
        ]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    claimed_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    closed_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    assigned_to = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The person it was handed to (POST .../assign/); null when its escalation "
        "rule decides who is notified.",
    )
    created_by = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="Who opened it by hand; null when an alert source opened it.",
    )
    is_snoozed = serializers.BooleanField(read_only=True)
    is_flapping = serializers.BooleanField(
        read_only=True, help_text="One of its alert keys keeps triggering and recovering."
    )
    is_storm = serializers.BooleanField(
        read_only=True, help_text="Its alert count reached an alert storm threshold."
    )
    merged_into = serializers.SlugRelatedField(
        slug_field="public_id",
        read_only=True,
        allow_null=True,
        help_text="The incident this one was merged into (it is closed and holds no alerts).",
    )
    in_maintenance = serializers.BooleanField(
        read_only=True, help_text="It opened during a maintenance window (``maintenance_window``)."
    )
    maintenance_window = serializers.SlugRelatedField(
        slug_field="public_id",
        read_only=True,
        allow_null=True,
        help_text="The maintenance window it opened in (``in_maintenance``): nobody is "
        "notified before the window ends.",
    )

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
            "merged_into",
            "assigned_to",
            "assigned_at",
            "created_by",
            "channel",
            "alert_count",
            "last_alert_at",
            "created_at",
            "updated_at",
            "is_flapping",
            "flapping_since",
            "flapping_quiet",
            "is_storm",
            "storm_alerts",
            "in_maintenance",
            "maintenance_window",
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


class OfferedLinkSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Stable: who offers it and which (``link:3``).")
    label = serializers.CharField()
    url = serializers.CharField(help_text="Absolute, or a path of this console.")


class OfferedActionSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="What to POST to .../actions/{key}/ to run it.")
    label = serializers.CharField()
    style = serializers.ChoiceField(choices=["default", "primary", "danger"])
    confirm = serializers.CharField(
        allow_blank=True, help_text="The question to ask before running it; empty: run at once."
    )
    colour = serializers.CharField(allow_blank=True)
    icon = serializers.CharField(allow_blank=True)
    takes_people = serializers.BooleanField(
        help_text="Whether POSTing it reads ``people`` (ids of members of the channel)."
    )


class IncidentDetailSerializer(IncidentSerializer):
    alerts = AlertSerializer(many=True, read_only=True)
    timeline = TimelineEntrySerializer(many=True, read_only=True)
    escalation = EscalationStateSerializer(source="*", read_only=True)
    changes_before = serializers.SerializerMethodField(
        help_text="The changes of its channel (or with a service label of its alerts) under way "
        "in the CHANGE_LOOKBACK_MINUTES before it opened, latest first."
    )
    links = serializers.SerializerMethodField(
        help_text="Links it offers beyond its own page: link integrations, runbooks, a war room."
    )
    actions = serializers.SerializerMethodField(
        help_text="Actions it offers beyond the lifecycle ones (custom actions, quick silence, "
        "a war room); run one with POST .../actions/{key}/."
    )

    class Meta(IncidentSerializer.Meta):
        fields = [
            *IncidentSerializer.Meta.fields,
            "alerts",
            "timeline",
            "escalation",
            "changes_before",
            "links",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(ChangeEventSerializer(many=True))
    def get_changes_before(self, incident: Incident) -> list[dict[str, Any]]:
        return ChangeEventSerializer(changes_before(incident), many=True).data

    @extend_schema_field(OfferedLinkSerializer(many=True))
    def get_links(self, incident: Incident) -> list[dict[str, Any]]:
        return OfferedLinkSerializer(incident_links(incident), many=True).data

    @extend_schema_field(OfferedActionSerializer(many=True))
    def get_actions(self, incident: Incident) -> list[dict[str, Any]]:
        return OfferedActionSerializer(incident_actions(incident), many=True).data


class OfferedActionRequestSerializer(serializers.Serializer):
    """Options of an offered action; only an action that ``takes_people`` reads ``people``."""

    people = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=User.objects.filter(is_active=True),
        help_text="Ids of people the action concerns (a war room invites them); members of "
        "the incident's channel.",
    )


class OfferedActionResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="False when the action ran and failed.")
    message = serializers.CharField(help_text="What it did, or why it failed, in words.")
    url = serializers.CharField(allow_blank=True, help_text="A link the action made, if any.")
    incident = IncidentDetailSerializer()


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


# An incident number fits PostgreSQL's bigint (and SQLite's integer); a larger one names none.
MAX_INCIDENT_NUMBER = 2**63 - 1
MAX_MERGED_AT_ONCE = 100


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "uuid"},
            {"type": "integer", "minimum": 1, "maximum": MAX_INCIDENT_NUMBER},
        ]
    }
)
class IncidentRefField(serializers.Field):
    """An incident's id (uuid), or its number (``12``, ``"12"`` or ``"#12"``)."""

    default_error_messages = {"invalid": "Give an incident's id or its number."}

    def to_internal_value(self, data: Any) -> uuid.UUID | int:
        if isinstance(data, int) and not isinstance(data, bool):
            return self._number(data)
        if isinstance(data, str):
            text = data.strip()
            if text.lstrip("#").isdigit() and text.lstrip("#").isascii():
                return self._number(int(text.lstrip("#")))
            try:
                return uuid.UUID(text)
            except ValueError:
                pass
        self.fail("invalid")

    def _number(self, number: int) -> int:
        if not 1 <= number <= MAX_INCIDENT_NUMBER:
            self.fail("invalid")
        return number

    def to_representation(self, value: Any) -> str:
        return str(value)


class MergeSerializer(serializers.Serializer):
    incidents = serializers.ListField(
        child=IncidentRefField(),
        min_length=1,
        max_length=MAX_MERGED_AT_ONCE,
        help_text="The incidents to merge into this one: ids or numbers, of the same channel.",
    )


class NewIncidentSerializer(serializers.Serializer):
    """An incident opened by hand (``lifecycle.open_incident``)."""

    channel = public_id_field(
        Channel.objects.all(), help_text="The channel's id; you must be one of its members."
    )
    title = serializers.CharField(max_length=lifecycle.MANUAL_TITLE_MAX_CHARS)
    description = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=lifecycle.MANUAL_DESCRIPTION_MAX_CHARS,
    )
    severity = serializers.ChoiceField(
        choices=Severity.choices, default=lifecycle.MANUAL_DEFAULT_SEVERITY
    )
    page = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        default=list,
        queryset=User.objects.filter(is_active=True),
        help_text="Ids of members of the channel to notify now, besides its escalation.",
    )


class AssignSerializer(serializers.Serializer):
    """Either ``user`` or ``escalation_level`` (with ``escalation_rule`` optionally)."""

    user = serializers.PrimaryKeyRelatedField(
        required=False,
        queryset=User.objects.filter(is_active=True),
        help_text="A member of the incident's channel: they alone are notified from now on.",
    )
    escalation_level = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="A level (from 1) of the rule: notified now, then escalation goes on from it.",
    )
    escalation_rule = public_id_field(
        EscalationRule.objects.all(),
        required=False,
        help_text="The rule of the level; default: the rule escalating the incident, else the "
        "channel's rule that matches it now.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("user" in attrs) == ("escalation_level" in attrs):
            raise serializers.ValidationError(
                {"detail": "Give either user or escalation_level, not both or neither."}
            )
        if "escalation_rule" in attrs and "escalation_level" not in attrs:
            raise serializers.ValidationError(
                {"escalation_rule": ["Give escalation_level with the rule."]}
            )
        return attrs


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


class EscalationLevelSerializer(serializers.ModelSerializer):
    users = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=User.objects.all(),
        required=False,
        help_text="User ids, notified in the direct messages of their linked Feishu account.",
    )
    schedules = public_id_field(
        Schedule.objects.all(),
        many=True,
        required=False,
        help_text="Schedule ids: whoever is on call in each when the level runs (the next "
        "person when nobody is).",
    )
    summary = serializers.CharField(source="describe", read_only=True)

    class Meta:
        model = EscalationLevel
        fields = [
            "position",
            "users",
            "schedules",
            "notify_channel_members",
            "escalate_after_minutes",
            "repeat_every_minutes",
            "repeat_times",
            "summary",
        ]
        read_only_fields = ["position"]  # the level's place in the rule's list

    def get_fields(self) -> dict[str, serializers.Field]:
        # The chat platforms' targets (Feishu: ``chats``) after the core's.
        return {**super().get_fields(), **platform_level_fields()}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Fields left out take the model's defaults: levels are written as a whole list.
        model_fields = {f.name for f in EscalationLevel._meta.concrete_fields}
        level = EscalationLevel(**{k: v for k, v in attrs.items() if k in model_fields})
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
    levels = EscalationLevelSerializer(
        many=True, allow_empty=False, help_text="Replaces all levels; the order is theirs."
    )
    notification_template = notification_template_field()
    conditions = serializers.CharField(source="describe_conditions", read_only=True)
    warnings = serializers.SerializerMethodField(
        help_text="Targets that won't receive anything (no app, chats the bot left)."
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, rule: EscalationRule) -> list[str]:
        # What is the same for every rule is looked up once per answer, not once per rule.
        return rule_problems(rule, self.context.setdefault("platform_memo", {}))

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
            "stop_when",
            "repeat_rule_times",
            "notification_template",
            "levels",
            "conditions",
            "warnings",
        ]

    def get_fields(self) -> dict[str, serializers.Field]:
        # The chat platforms' part of a rule (Feishu: ``feishu_app``) after the core's.
        return {**super().get_fields(), **platform_rule_fields()}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        rule = self._rule_as_it_would_be(attrs)
        try:
            rule.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_drf_detail(exc)) from None
        platform_values = {k: attrs[k] for k in platform_rule_fields() if k in attrs}
        errors = validate_platform_targets(
            self.instance or rule, platform_values, attrs.get("levels", [])
        )
        if "levels" in attrs:
            errors = self._check_targets(attrs["levels"], errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _rule_as_it_would_be(self, attrs: dict[str, Any]) -> EscalationRule:
        """An unsaved rule with the stored values and the request's changes."""
        values: dict[str, Any] = {}
        if self.instance is not None:
            fields = EscalationRule._meta.concrete_fields
            values = {f.name: getattr(self.instance, f.name) for f in fields if not f.primary_key}
        model_fields = {f.name for f in EscalationRule._meta.concrete_fields}
        values.update({k: v for k, v in attrs.items() if k in model_fields})
        return EscalationRule(**values)

    @staticmethod
    def _check_targets(
        levels: list[dict[str, Any]], errors: dict[int | str, Any]
    ) -> dict[int | str, Any]:
        """Each level names a target; the platforms' errors (``errors``) are kept, and level
        errors keyed by the level's index, the way DRF reports errors of list items."""
        by_level: dict[int, dict[str, Any]] = {
            key: value for key, value in errors.items() if isinstance(key, int)
        }
        for index, level in enumerate(levels):
            try:
                EscalationLevel.validate_targets(
                    users=level.get("users", []),
                    schedules=level.get("schedules", []),
                    notify_channel_members=level.get("notify_channel_members", False),
                    platform_targets=level_has_platform_targets(level),
                )
            except DjangoValidationError as exc:
                by_level.setdefault(index, {}).update(_drf_detail(exc))
        rest = {key: value for key, value in errors.items() if not isinstance(key, int)}
        return {**rest, "levels": by_level} if by_level else rest

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> EscalationRule:
        levels = validated_data.pop("levels")
        platform_values = self._pop_platform_values(validated_data)
        rule = EscalationRule.objects.create(**validated_data)
        self._write_levels(rule, levels, platform_values)
        return rule

    @transaction.atomic
    def update(self, instance: EscalationRule, validated_data: dict[str, Any]) -> EscalationRule:
        levels = validated_data.pop("levels", None)
        platform_values = self._pop_platform_values(validated_data)
        rule = super().update(instance, validated_data)
        if levels is not None:
            rule.levels.all().delete()
        self._write_levels(rule, levels or [], platform_values)
        return rule

    @staticmethod
    def _pop_platform_values(validated_data: dict[str, Any]) -> dict[str, Any]:
        return {k: validated_data.pop(k) for k in platform_rule_fields() if k in validated_data}

    @staticmethod
    def _write_levels(
        rule: EscalationRule, levels: list[dict[str, Any]], platform_values: dict[str, Any]
    ) -> None:
        platform_names = set(platform_level_fields())
        written = []
        for position, data in enumerate(levels):
            theirs = {k: data.pop(k) for k in platform_names if k in data}
            users, schedules = data.pop("users", []), data.pop("schedules", [])
            level = EscalationLevel.objects.create(rule=rule, position=position, **data)
            level.users.set(users)
            level.schedules.set(schedules)
            written.append((level, theirs))
        save_platform_targets(rule, platform_values, written)


class NotificationTemplateSerializer(serializers.ModelSerializer):
    """A template's bodies by medium (a medium left out: its built-in default), checked on
    save as in the admin: syntax with the line, unknown names, a trial render."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    last_error_incident = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )

    class Meta:
        model = NotificationTemplate
        fields = [
            "id",
            "name",
            "description",
            "bodies",
            "last_error",
            "last_error_at",
            "last_error_incident",
            "error_count",
            "updated_at",
        ]
        read_only_fields = ["last_error", "last_error_at", "error_count", "updated_at"]

    def validate_bodies(self, bodies: Any) -> dict[str, str]:
        return check_bodies(bodies)


class TemplatePreviewSerializer(serializers.Serializer):
    bodies = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        help_text="Medium → template text; a medium left out renders its default.",
    )
    incident = serializers.SlugRelatedField(
        slug_field="public_id",
        queryset=Incident.objects.all(),
        required=False,
        allow_null=True,
        help_text="Render on this incident; else on the built-in sample.",
    )

    def validate_bodies(self, bodies: Any) -> dict[str, str]:
        known = {medium.name for medium in media()}
        unknown = sorted(set(bodies) - known)
        if unknown:
            raise serializers.ValidationError(f"Unknown media {unknown}: use {sorted(known)}.")
        return bodies


class RenderedSerializer(serializers.Serializer):
    text = serializers.CharField()
    error = serializers.CharField()
    default = serializers.BooleanField(help_text="Rendered with the built-in default.")


def check_bodies(bodies: Any) -> dict[str, str]:
    """Bodies by medium name, each checked; errors by medium, each naming the problem."""
    if not isinstance(bodies, dict):
        raise serializers.ValidationError("Enter an object of medium → template text.")
    by_name = {medium.name: medium for medium in media()}
    errors: dict[str, list[str]] = {}
    for name, body in bodies.items():
        if name not in by_name:
            errors[name] = [f"Unknown medium: use one of {sorted(by_name)}."]
        elif not isinstance(body, str):
            errors[name] = ["Enter the template as text."]
        elif problems := check(body, by_name[name]):
            errors[name] = problems
    if errors:
        raise serializers.ValidationError(errors)
    return {name: body for name, body in bodies.items() if body.strip()}
