"""On-call schedules in the REST API: schedules with their layers and each layer's turn order,
written in one request; overrides; who is on call at a moment; the final shifts of a period.

Everyone signed in reads every schedule (``permissions.visible_schedules``, as the pages);
changes take the admin's model permissions (``MembersReadModelPermissionsWrite``). Moments
are answered in the schedule's time zone, ISO 8601 with their offset.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from oncall.api.serializers import PersonSerializer, _drf_detail
from oncall.models import LayerParticipant, Schedule, ScheduleLayer, ScheduleOverride
from oncall.permissions import MembersReadModelPermissionsWrite, visible_schedules
from oncall.schedules import resolve
from oncall.schedules.checks import check_turn_order, schedule_warnings
from oncall.schedules.rotation import Shift, final_shifts, layer_shifts, wall_clock_moment
from oncall.timeline import person_fields

User = get_user_model()

# The longest period ``shifts/`` answers for: a quarter. Longer ones are many shifts, and the
# calendar feeds serve people who want all of them.
MAX_SHIFTS_PERIOD = timedelta(days=92)
DEFAULT_SHIFTS_PERIOD = timedelta(days=14)
# Moments are accepted in these years: beyond them a typo, and near the ends an overflow.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200
# A "+" in a query string arrives as a space unless it was encoded (%2B): "09:00:00 08:00"
# can only have meant "+08:00".
OFFSET_AFTER_SPACE = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


# --- Schedules with layers ----------------------------------------------------------------------


@extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
class TurnOrderField(serializers.ListField):
    """A layer's participants as user ids in turn order (read from its ``LayerParticipant``
    rows, which the schedule serializer writes)."""

    child = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())

    def get_attribute(self, layer: ScheduleLayer) -> list[Any]:
        return [p.user for p in layer.participants.all()]


class LayerSerializer(serializers.ModelSerializer):
    participants = TurnOrderField(
        help_text="User ids in turn order. At least one; a person may come back later in the "
        "order, not twice in a row. A deactivated person's turns are gaps."
    )

    class Meta:
        model = ScheduleLayer
        fields = [
            "id",
            "position",
            "name",
            "start_date",
            "handoff_time",
            "rotation_every",
            "rotation_unit",
            "end_date",
            "restrictions",
            "participants",
        ]
        read_only_fields = ["id", "position"]  # the layer's place in the schedule's list

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        model_fields = {f.name for f in ScheduleLayer._meta.concrete_fields}
        layer = ScheduleLayer(**{k: v for k, v in attrs.items() if k in model_fields})
        try:
            layer.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_drf_detail(exc)) from None
        try:
            check_turn_order(attrs.get("participants", []))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"participants": exc.messages}) from None
        return attrs


class ScheduleSerializer(serializers.ModelSerializer):
    """A schedule with its layers. ``layers`` is written as a whole, lowest first (a later
    layer wins where it has someone): the list given replaces the schedule's layers, the
    first layers keeping their ids."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    layers = LayerSerializer(many=True, help_text="Lowest first; a later layer wins.")
    warnings = serializers.SerializerMethodField(
        help_text="What may not work as meant over the next two weeks (not refused)."
    )

    class Meta:
        model = Schedule
        fields = [
            "id",
            "name",
            "description",
            "time_zone",
            "layers",
            "warnings",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, schedule: Schedule) -> list[str]:
        return schedule_warnings(schedule, timezone.now())

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Schedule:
        layers = validated_data.pop("layers")
        schedule = Schedule.objects.create(**validated_data)
        self._write_layers(schedule, layers)
        return schedule

    @transaction.atomic
    def update(self, instance: Schedule, validated_data: dict[str, Any]) -> Schedule:
        layers = validated_data.pop("layers", None)
        schedule = super().update(instance, validated_data)
        if layers is not None:
            self._write_layers(schedule, layers)
        return schedule

    @staticmethod
    def _write_layers(schedule: Schedule, layers: list[dict[str, Any]]) -> None:
        existing = list(schedule.layers.order_by("position", "id"))
        for position, data in enumerate(layers):
            people = data.pop("participants")
            if position < len(existing):
                layer = existing[position]
                for name, value in data.items():
                    setattr(layer, name, value)
                layer.position = position
                layer.save()
                layer.participants.all().delete()
            else:
                layer = ScheduleLayer.objects.create(schedule=schedule, position=position, **data)
            LayerParticipant.objects.bulk_create(
                LayerParticipant(layer=layer, user=user, position=turn)
                for turn, user in enumerate(people)
            )
        for layer in existing[len(layers) :]:
            layer.delete()


def _schedules_with_rows(queryset: QuerySet[Schedule]) -> QuerySet[Schedule]:
    participants = LayerParticipant.objects.order_by("position", "id").select_related("user")
    layers = ScheduleLayer.objects.order_by("position", "id").prefetch_related(
        Prefetch("participants", queryset=participants)
    )
    return queryset.prefetch_related(Prefetch("layers", queryset=layers))


# --- Answers: who is on call, shifts ------------------------------------------------------------


class LayerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class OverrideRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    note = serializers.CharField()


class ShiftSerializer(serializers.Serializer):
    """A shift as answered (the answers are built by ``_shift``; this documents them)."""

    user = PersonSerializer()
    start = serializers.DateTimeField(help_text="In the schedule's zone, with its offset.")
    end = serializers.DateTimeField(help_text="In the schedule's zone, with its offset.")
    layer = LayerRefSerializer(allow_null=True, help_text="The layer it comes from, or null.")
    override = OverrideRefSerializer(
        allow_null=True, help_text="The override it comes from, or null."
    )


class OnCallSerializer(ShiftSerializer):
    is_next = serializers.BooleanField(
        help_text="Nobody is on call at `at`: this is the next person, whose shift starts later."
    )


class OnCallAnswerSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    time_zone = serializers.CharField()
    on_call = OnCallSerializer(allow_null=True, help_text="Null: nobody in the next 14 days.")


class ShiftsAnswerSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    time_zone = serializers.CharField()
    layer = serializers.IntegerField(allow_null=True)
    shifts = ShiftSerializer(many=True)


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError({"detail": message, field: [message]})


def _moment(request: Request, name: str, zone: ZoneInfo, default: datetime) -> datetime:
    """The query parameter ``name`` as an instant: ISO 8601, with an offset or else in the
    schedule's zone; ``default`` when absent."""
    given = request.query_params.get(name)
    if given is None or given == "":
        return default
    try:
        moment = datetime.fromisoformat(OFFSET_AFTER_SPACE.sub(r"\1+\2", given.strip()))
    except ValueError:
        raise _refuse(
            name,
            _("%(name)s must be an ISO 8601 time such as 2026-01-05T09:00:00+08:00.")
            % {"name": name},
        ) from None
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise _refuse(
            name,
            _("%(name)s must be between the years %(first)s and %(last)s.")
            % {"name": name, "first": EARLIEST_YEAR, "last": LATEST_YEAR},
        )
    if moment.tzinfo is None:
        return wall_clock_moment(zone, moment)
    return moment


class ScheduleFilter(django_filters.FilterSet):
    class Meta:
        model = Schedule
        fields = ["name", "time_zone"]


class ScheduleViewSet(viewsets.ModelViewSet):
    """On-call schedules with their layers. Everyone signed in reads them; staff change them
    as their permissions allow (layers and turn orders are part of a schedule)."""

    serializer_class = ScheduleSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    filterset_class = ScheduleFilter
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[Schedule]:
        return _schedules_with_rows(visible_schedules(self.request.user).order_by("name"))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "at",
                OpenApiTypes.DATETIME,
                description="ISO 8601; without an offset, in the schedule's zone. Default: now.",
            )
        ],
        responses=OnCallAnswerSerializer,
    )
    @action(detail=True, methods=["get"], url_path="on-call", url_name="on-call")
    def on_call(self, request: Request, public_id: str | None = None) -> Response:
        """Who is on call at ``at``: the person, their whole shift (up to a day back) and the
        layer or override it comes from; when nobody is, the next person (``is_next``) within
        14 days; else null."""
        schedule = self.get_object()
        zone = ZoneInfo(schedule.time_zone)
        at = _moment(request, "at", zone, timezone.now())
        found = resolve.responder(schedule, at)
        answer = None
        if found is not None:
            loaded = found.schedule
            answer = {**_shift(loaded, found.shift, found.user), "is_next": found.is_next}
        return Response({"at": _iso(at, zone), "time_zone": schedule.time_zone, "on_call": answer})

    @extend_schema(
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="ISO 8601. Default: now."),
            OpenApiParameter(
                "until",
                OpenApiTypes.DATETIME,
                description="ISO 8601, after since, at most 92 days later. Default: since + 14 "
                "days.",
            ),
            OpenApiParameter(
                "layer",
                OpenApiTypes.INT,
                description="A layer's id: that layer's shifts instead of the final ones.",
            ),
        ],
        responses=ShiftsAnswerSerializer,
    )
    @action(detail=True, methods=["get"], url_path="shifts", url_name="shifts")
    def shifts(self, request: Request, public_id: str | None = None) -> Response:
        """The final shifts from ``since`` to ``until`` (cut to them), or one layer's."""
        schedule = self.get_object()
        zone = ZoneInfo(schedule.time_zone)
        since = _moment(request, "since", zone, timezone.now())
        until = _moment(request, "until", zone, since + DEFAULT_SHIFTS_PERIOD)
        if until <= since:
            raise _refuse("until", _("until must be after since."))
        if until - since > MAX_SHIFTS_PERIOD:
            raise _refuse("until", _("Ask for at most 92 days at a time."))
        loaded = resolve.load(schedule, since, until)
        layer_id = self._layer_id(request, loaded)
        spec = resolve.spec_of(loaded)
        if layer_id is None:
            found = final_shifts(spec, since, until)
        else:
            layer = next(layer for layer in spec.layers if layer.key == layer_id)
            found = layer_shifts(layer, zone, since, until)
        people = resolve.people_of(found)
        return Response(
            {
                "since": _iso(since, zone),
                "until": _iso(until, zone),
                "time_zone": schedule.time_zone,
                "layer": layer_id,
                "shifts": [_shift(loaded, s, people[s.user]) for s in found],
            }
        )

    @staticmethod
    def _layer_id(request: Request, schedule: Schedule) -> int | None:
        given = request.query_params.get("layer")
        if not given:
            return None
        ids = {layer.pk for layer in schedule.layers.all()}
        if not given.isdigit() or int(given) not in ids:
            raise _refuse("layer", _("This schedule has no layer with that id."))
        return int(given)


def _iso(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat()


def _shift(schedule: Schedule, shift: Shift, user: Any) -> dict[str, Any]:
    zone = ZoneInfo(schedule.time_zone)
    layer = next((layer for layer in schedule.layers.all() if layer.pk == shift.layer), None)
    override = next(
        (o for o in getattr(schedule, "overrides_in_range", ()) if o.pk == shift.override), None
    )
    return {
        "user": person_fields(user),
        "start": _iso(shift.start, zone),
        "end": _iso(shift.end, zone),
        "layer": {"id": layer.pk, "name": layer.name} if layer else None,
        "override": {"id": override.pk, "note": override.note} if override else None,
    }


# --- Overrides ----------------------------------------------------------------------------------


class OverrideSerializer(serializers.ModelSerializer):
    schedule = serializers.SlugRelatedField(
        slug_field="public_id", queryset=Schedule.objects.all(), help_text="The schedule's id."
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), help_text="Who is on call instead."
    )

    class Meta:
        model = ScheduleOverride
        fields = ["id", "schedule", "user", "start", "end", "note", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.instance is not None:
            values = {
                f.name: getattr(self.instance, f.name)
                for f in ScheduleOverride._meta.concrete_fields
            }
        values.update(attrs)
        # Held until the request's transaction ends: two overlapping overrides sent at once
        # are checked one after the other.
        Schedule.objects.select_for_update().filter(pk=values["schedule"].pk).first()
        override = ScheduleOverride(**values)
        try:
            override.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_drf_detail(exc)) from None
        return attrs


class OverrideFilter(django_filters.FilterSet):
    schedule = django_filters.UUIDFilter(field_name="schedule__public_id", label="Schedule id")
    ends_after = django_filters.IsoDateTimeFilter(field_name="end", lookup_expr="gt")

    class Meta:
        model = ScheduleOverride
        fields = ["schedule", "user", "ends_after"]


class ScheduleOverrideViewSet(viewsets.ModelViewSet):
    """Overrides: someone on call instead of whoever the layers say, for a period. They may
    not overlap (400 with the override they clash with)."""

    serializer_class = OverrideSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    filterset_class = OverrideFilter
    ordering_fields = ["start"]

    def get_queryset(self) -> QuerySet[ScheduleOverride]:
        readable = visible_schedules(self.request.user).values("pk")
        return (
            ScheduleOverride.objects.filter(schedule__in=readable)
            .select_related("schedule", "user")
            .order_by("-start", "-id")
        )

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    def perform_create(self, serializer: OverrideSerializer) -> None:
        serializer.save(created_by=self.request.user)
