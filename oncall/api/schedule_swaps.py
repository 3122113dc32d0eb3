"""The REST API of shift swaps (``/api/v1/shift-swaps/``) and calendar feed URLs
(``/api/v1/calendar-feeds/...``), through the same services as the pages:
``oncall.schedules.swaps`` and ``oncall.schedules.calendars``.

A refused swap answers 400 (the request makes no sense), 403 (not the caller's to do) or 409
(someone was first, the time has begun), each with the refusal's stable ``code``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oncall.api.serializers import PersonSerializer
from oncall.models import CalendarFeed, Schedule, ShiftSwap
from oncall.models.shift_swaps import SWAP_NOTE_MAX_CHARS
from oncall.permissions import (
    may_rotate_schedule_calendar,
    may_see_schedule_calendar,
    visible_swaps,
)
from oncall.schedules import calendars, swaps

_REFUSAL_STATUS = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "forbidden": status.HTTP_403_FORBIDDEN,
    "conflict": status.HTTP_409_CONFLICT,
}


class SwapRefusedError(exceptions.APIException):
    def __init__(self, refused: swaps.SwapRefused) -> None:
        super().__init__(refused.message, code=refused.code)
        self.status_code = _REFUSAL_STATUS[refused.kind]


# --- Serializers ---------------------------------------------------------------------------------


class ScheduleRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    name = serializers.CharField(read_only=True)


class ShiftSwapSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    number = serializers.IntegerField(
        source="pk", read_only=True, help_text="What the chat command `take N` takes."
    )
    schedule = ScheduleRefSerializer(read_only=True)
    requester = PersonSerializer(read_only=True)
    taken_by = PersonSerializer(read_only=True, allow_null=True)
    override = serializers.IntegerField(source="override_id", read_only=True, allow_null=True)
    can_take = serializers.SerializerMethodField()

    class Meta:
        model = ShiftSwap
        fields = [
            "id",
            "number",
            "schedule",
            "requester",
            "start",
            "end",
            "note",
            "status",
            "taken_by",
            "taken_at",
            "override",
            "created_at",
            "closed_at",
            "can_take",
        ]
        read_only_fields = fields

    def get_can_take(self, swap: ShiftSwap) -> bool:
        """Whether the caller may take it now."""
        if swap.status != ShiftSwap.Status.OPEN:
            return False
        cache = self.context.setdefault("participants", {})
        if swap.schedule_id not in cache:
            cache[swap.schedule_id] = swaps.participant_ids(swap.schedule_id)
        return swaps.may_take(swap, self.context["request"].user, cache[swap.schedule_id])


class AskSwapSerializer(serializers.Serializer):
    schedule = serializers.SlugRelatedField(
        slug_field="public_id", queryset=Schedule.objects.all(), help_text="The schedule's id."
    )
    start = serializers.DateTimeField(help_text="From (within a shift of yours).")
    end = serializers.DateTimeField(help_text="To.")
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=SWAP_NOTE_MAX_CHARS, default=""
    )


class CalendarFeedSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()
    schedule = ScheduleRefSerializer(read_only=True, allow_null=True)
    url = serializers.CharField(read_only=True, help_text="Secret: anyone with it sees the feed.")

    class Meta:
        model = CalendarFeed
        fields = ["kind", "schedule", "url", "created_at", "rotated_at"]
        read_only_fields = fields

    def get_kind(self, feed: CalendarFeed) -> str:
        return "schedule" if feed.schedule_id else "person"


# --- Shift swaps ---------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter(
            "status",
            enum=[*ShiftSwap.Status.values, "all"],
            description="Default: open.",
        ),
        OpenApiParameter("schedule", str, description="A schedule's id."),
    ]
)
class ShiftSwapViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Shift swaps of the schedules the caller takes part in, and their own requests. Ask for
    one (``POST``, a period of your own upcoming shift), ``take`` one, ``cancel`` your own."""

    serializer_class = ShiftSwapSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "public_id"
    queryset = ShiftSwap.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet:
        if not self.request.user.is_authenticated:  # schema generation
            return ShiftSwap.objects.none()
        queryset = visible_swaps(self.request.user).select_related(
            "schedule", "requester", "taken_by"
        )
        if self.action != "list":
            return queryset
        swaps.expire_passed()
        wanted = self.request.query_params.get("status", ShiftSwap.Status.OPEN)
        if wanted != "all":
            if wanted not in ShiftSwap.Status.values:
                raise exceptions.ValidationError(
                    {"status": [f"Choose one of {', '.join(ShiftSwap.Status.values)} or all."]}
                )
            queryset = queryset.filter(status=wanted)
        if schedule := self.request.query_params.get("schedule"):
            queryset = queryset.filter(schedule__public_id=_uuid(schedule, "schedule"))
        return queryset.order_by("start", "id")

    @extend_schema(request=AskSwapSerializer, responses={201: ShiftSwapSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = AskSwapSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            swap = swaps.ask(
                data["schedule"], request.user, data["start"], data["end"], data["note"]
            )
        except swaps.SwapRefused as refused:
            raise SwapRefusedError(refused) from None
        return Response(self.get_serializer(swap).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ShiftSwapSerializer)
    @action(detail=True, methods=["post"])
    def take(self, request: Request, public_id: str | None = None) -> Response:
        """Take it: an override puts you in for its time. 409 when someone was first."""
        return self._act(lambda swap: swaps.take(swap, request.user).swap)

    @extend_schema(request=None, responses=ShiftSwapSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, public_id: str | None = None) -> Response:
        """Cancel your own open request."""
        return self._act(lambda swap: swaps.cancel(swap, request.user))

    def _act(self, call: Any) -> Response:
        swap = self.get_object()  # 404 outside the caller's schedules
        try:
            done = call(swap)
        except swaps.SwapRefused as refused:
            raise SwapRefusedError(refused) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=done.pk)).data)


def _uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise exceptions.ValidationError({field: ["Not a valid id."]}) from None


# --- Calendar feeds ------------------------------------------------------------------------------


class MyCalendarFeedView(APIView):
    """The secret URL of your own shifts' calendar (made the first time you ask)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=CalendarFeedSerializer)
    def get(self, request: Request) -> Response:
        return Response(CalendarFeedSerializer(calendars.feed_of_person(request.user)).data)


class MyCalendarFeedRotateView(APIView):
    """A new URL for your calendar; the old one stops working at once."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=CalendarFeedSerializer)
    def post(self, request: Request) -> Response:
        feed = calendars.rotate(calendars.feed_of_person(request.user))
        return Response(CalendarFeedSerializer(feed).data)


def _schedule(request: Request, public_id: str) -> Schedule:
    if not may_see_schedule_calendar(request.user):
        raise exceptions.NotFound()
    return get_object_or_404(Schedule, public_id=public_id)


class ScheduleCalendarFeedView(APIView):
    """The secret URL of a schedule's calendar (made the first time someone asks)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=CalendarFeedSerializer)
    def get(self, request: Request, public_id: str) -> Response:
        feed = calendars.feed_of_schedule(_schedule(request, public_id))
        return Response(CalendarFeedSerializer(feed).data)


class ScheduleCalendarFeedRotateView(APIView):
    """A new URL for a schedule's calendar, for everyone subscribed; the old one stops working
    at once. Needs the permission to change schedules."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=CalendarFeedSerializer)
    def post(self, request: Request, public_id: str) -> Response:
        schedule = _schedule(request, public_id)
        if not may_rotate_schedule_calendar(request.user):
            raise exceptions.PermissionDenied(
                "Only staff with the permission oncall.change_schedule may rotate a "
                "schedule's calendar URL."
            )
        feed = calendars.rotate(calendars.feed_of_schedule(schedule))
        return Response(CalendarFeedSerializer(feed).data)
