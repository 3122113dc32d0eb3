"""The REST API's resources. Scoping and permissions come from ``oncall.permissions``; incident
actions go through ``oncall.lifecycle`` like every other surface."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from oncall import ingest, lifecycle, offers
from oncall.api import serializers as s
from oncall.api.pagination import NewestFirstCursorPagination
from oncall.change_events import ChangeStatus
from oncall.events import PayloadError, Severity
from oncall.incident_list import search_condition
from oncall.models import (
    ActionSource,
    Alert,
    AlertSource,
    ApiToken,
    ChangeEvent,
    EscalationRule,
    Incident,
    IncidentNote,
    NotificationTemplate,
    RefusedPush,
    Route,
    TimelineEntry,
)
from oncall.notify.preview import preview
from oncall.permissions import (
    MembersReadModelPermissionsWrite,
    ModelPermissions,
    configuration_channels,
    readable_channels,
    visible_channels,
    visible_incidents,
    with_email_visibility,
)
from oncall.platforms import prefetch_rules
from oncall.sources import SourceRefused, source_kind
from oncall.timeline import Actor

User = get_user_model()
# The largest id a database row can have (a signed 64-bit integer).
MAX_ID = 2**63 - 1


class ChannelViewSet(viewsets.ModelViewSet):
    """Members read their channels; staff read and change them as their permissions allow."""

    serializer_class = s.ChannelSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    filterset_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet:
        return readable_channels(self.request.user).prefetch_related("members").order_by("name")


class AlertSourceViewSet(viewsets.ModelViewSet):
    """Inbound integrations. Staff with the permissions only, for reading too: the push URL is a
    secret."""

    serializer_class = s.AlertSourceSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    lookup_field = "public_id"
    filterset_fields = ["kind", "enabled"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet:
        return (
            AlertSource.objects.select_related("channel")
            .prefetch_related("routes")
            .order_by("name")
        )

    @extend_schema(request=None, responses=s.AlertSourceSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request: Request, public_id: str | None = None) -> Response:
        """A new push URL; the old one stops working at once."""
        source = self.get_object()
        source.rotate_token()
        return Response(self.get_serializer(source).data)

    @extend_schema(request=s.TryPushSerializer, responses=s.TriedPushSerializer)
    @action(detail=True, methods=["post"], url_path="test-mapping")
    def test_mapping(self, request: Request, public_id: str | None = None) -> Response:
        """Read ``sample`` as a push to this source would be read, with ``options`` (a
        mapping, for a custom webhook) instead of the saved ones when given. Nothing is
        saved. 200 with the events; 400 naming the option or the field at fault."""
        source = self.get_object()
        serializer = s.TryPushSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = serializer.validated_data.get("options")
        if options is not None:
            try:
                options = source_kind(source.kind).clean_options(options)
            except DjangoValidationError as error:
                raise ValidationError({"options": error.messages}) from None
        try:
            events = ingest.preview(source, serializer.validated_data["sample"], options)
        except PayloadError as error:
            raise ValidationError({error.field or "sample": [error.message]}) from None
        except SourceRefused as refused:
            raise ValidationError({"sample": [refused.message]}) from None
        shown = [event.to_json() for event in events[: s.TriedPushSerializer.MAX_EVENTS]]
        return Response({"count": len(events), "events": shown})

    @extend_schema(request=None, responses=s.RefusedPushSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="failures")
    def failures(self, request: Request, public_id: str | None = None) -> Response:
        """The source's last refused pushes (400, 413), newest first, with their payloads."""
        source = self.get_object()
        refused = source.refused_pushes.order_by("-id")[: RefusedPush.KEEP]
        return Response(s.RefusedPushSerializer(refused, many=True).data)


class NotificationTemplateViewSet(viewsets.ModelViewSet):
    """What notifications say, per medium. Staff with the permissions only."""

    serializer_class = s.NotificationTemplateSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    lookup_field = "public_id"
    ordering_fields = ["name", "updated_at"]

    def get_queryset(self) -> QuerySet:
        return NotificationTemplate.objects.select_related("last_error_incident").order_by("name")

    @extend_schema(
        request=s.TemplatePreviewSerializer,
        responses=inline_serializer(
            "TemplatePreview", {"media": serializers.DictField(child=s.RenderedSerializer())}
        ),
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """Render bodies without saving them, on an incident or the built-in sample."""
        serializer = s.TemplatePreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = serializer.validated_data.get("incident")
        return Response({"media": preview(serializer.validated_data["bodies"], incident)})


class RouteViewSet(viewsets.ModelViewSet):
    """Routing rules of shared alert sources, tried in ``position`` order."""

    serializer_class = s.RouteSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    lookup_field = "public_id"
    filterset_fields = {"source__public_id": ["exact"]}
    ordering_fields = ["position"]

    def get_queryset(self) -> QuerySet:
        return (
            Route.objects.select_related("source")
            .prefetch_related("channels")
            .order_by("source_id", "is_default", "position", "id")
        )


class UserFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(method="filter_email", label="E-mail address")

    class Meta:
        model = User
        fields = ["username", "email"]

    def filter_email(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Only among the addresses the caller may see: a match would tell an address's owner.
        return queryset.filter(email=value, email_visible=True) if value else queryset


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """People, to pick channel members and escalation targets from. An e-mail address is
    shown (and found by ``?email=``) only to those ``with_email_visibility`` allows."""

    serializer_class = s.UserSerializer
    queryset = User.objects.none()  # for the schema; requests use get_queryset
    filterset_class = UserFilter
    ordering_fields = ["username"]

    def get_queryset(self) -> QuerySet:
        users = User.objects.filter(is_active=True).order_by("username")
        return with_email_visibility(users, self.request.user)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 moments, compared in UTC: an offset such as -19:55 is valid ISO 8601 but
    beyond what PostgreSQL accepts."""

    def filter(self, qs: QuerySet, value: datetime | None) -> QuerySet:
        if value is None:
            return qs
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValidationError({self.field_name: ["This moment is out of range."]}) from None
        return super().filter(qs, value)


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Incident.Status.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    channel = django_filters.UUIDFilter(field_name="channel__public_id")
    # Bounded to what a database id can be: a bigger number overflowed the driver (a 500).
    claimed_by = django_filters.NumberFilter(
        field_name="claimed_by_id", min_value=1, max_value=MAX_ID, label="Claimed by (user id)"
    )
    assigned_to = django_filters.NumberFilter(
        field_name="assigned_to_id", min_value=1, max_value=MAX_ID, label="Assigned to (user id)"
    )
    mine = django_filters.BooleanFilter(method="filter_mine", label="Claimed by me")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        method="filter_q", label="Search: title words, or an incident number (#123 or 123)"
    )
    flapping = django_filters.BooleanFilter(
        field_name="flapping_since", lookup_expr="isnull", exclude=True, label="Flapping"
    )
    storm = django_filters.BooleanFilter(method="filter_storm", label="Alert storm")

    class Meta:
        model = Incident
        fields = ["status", "severity", "channel", "claimed_by", "assigned_to", "number"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The web list's search, so that the same words find the same incidents.
        return queryset.filter(search_condition(value)) if value else queryset

    def filter_storm(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(storm_alerts__gt=0) if value else queryset.filter(storm_alerts=0)

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value is None:
            return queryset
        mine = queryset.filter(claimed_by=self.request.user)
        return mine if value else queryset.exclude(pk__in=mine.values("pk"))


def _lifecycle_action(
    name: str, call: Callable[..., lifecycle.Outcome], *, body: type | None = None, doc: str
) -> Callable:
    """An incident action ``POST /incidents/{id}/<name>/`` that calls the lifecycle service."""

    def view(self: IncidentViewSet, request: Request, public_id: str | None = None) -> Response:
        incident = self.get_object()  # 404 outside the user's channels
        kwargs = {}
        if body is not None:
            payload = body(data=request.data)
            payload.is_valid(raise_exception=True)
            kwargs = dict(payload.validated_data)
        outcome = call(incident, Actor(request.user, ActionSource.API), **kwargs)
        return _action_result(request.user, outcome)

    # DRF routes an action by its function's name, so it is named before being decorated.
    view.__name__ = name
    view.__doc__ = doc
    routed = action(detail=True, methods=["post"], url_path=name, url_name=name)(view)
    # Applied over the action, as drf-spectacular reads it: under it, the body went missing
    # from the schema (snooze's duration was undocumented).
    return extend_schema(request=body, responses=s.ActionResultSerializer)(routed)


def _assign(
    incident: Incident,
    actor: Actor,
    *,
    user: Any = None,
    escalation_level: int | None = None,
    escalation_rule: EscalationRule | None = None,
) -> lifecycle.Outcome:
    if user is not None:
        return lifecycle.assign_person(incident, actor, user)
    assert escalation_level is not None  # AssignSerializer insists on one or the other
    return lifecycle.assign_level(incident, actor, escalation_level, escalation_rule)


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    """Incidents of the caller's channels. Actions follow the same rules as cards and pages:
    a state the incident already has answers ``changed: false``; an impossible one 409.
    ``POST`` opens one by hand in a channel of the caller's."""

    lookup_field = "public_id"
    filterset_class = IncidentFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self) -> QuerySet:
        if self.action != "list":
            return _incident_details(self.request.user)
        return visible_incidents(self.request.user).select_related("channel", "merged_into")

    def get_serializer_class(self) -> type:
        return s.IncidentSerializer if self.action == "list" else s.IncidentDetailSerializer

    claim = _lifecycle_action("claim", lifecycle.claim, doc="Claim (acknowledge) it.")
    unclaim = _lifecycle_action("unclaim", lifecycle.unclaim, doc="Give a claim back.")
    close = _lifecycle_action("close", lifecycle.close, doc="Close it.")
    reopen = _lifecycle_action("reopen", lifecycle.reopen, doc="Reopen a closed incident.")
    snooze = _lifecycle_action(
        "snooze", lifecycle.snooze, body=s.SnoozeSerializer, doc="Pause escalation for a duration."
    )
    wake = _lifecycle_action("wake", lifecycle.wake, doc="End a snooze now.")
    assign = _lifecycle_action(
        "assign",
        _assign,
        body=s.AssignSerializer,
        doc="Hand it to a member of its channel (who alone is notified from then on, its "
        "escalation rule stopped) or to a level of one of its channel's escalation rules "
        "(notified now, escalation goes on from there). Either is notified at once; a claim by "
        "anyone else is released and a snooze ends. 400 when the person is not a member.",
    )

    @extend_schema(
        request=s.OfferedActionRequestSerializer,
        responses=s.OfferedActionResultSerializer,
        parameters=[OpenApiParameter("key", str, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"actions/(?P<key>[^/]+)",
        url_name="run-action",
    )
    def run_action(self, request: Request, public_id: str | None = None, key: str = "") -> Response:
        """Run an action the incident offers (its ``actions``: a custom action, quick silence,
        a war room): 404 when it offers none of that key, 403 outside its channel's members.
        ``ok`` is false when the action ran and failed (the receiver answered an error).
        An action that ``takes_people`` reads ``people`` (members of the incident's channel;
        400 for anyone else)."""
        incident = self.get_object()  # 404 outside the user's channels
        payload = s.OfferedActionRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            result = offers.run_action(
                incident, key, Actor(request.user, ActionSource.API), payload.validated_data
            )
        except offers.UnknownAction as unknown:
            raise NotFound(str(unknown)) from None
        except offers.InvalidOptions as invalid:
            raise ValidationError({invalid.field: [invalid.message]}) from None
        detail = _incident_details(request.user).get(pk=incident.pk)
        return Response(
            {
                "ok": result.ok,
                "message": result.message,
                "url": result.url,
                "incident": s.IncidentDetailSerializer(detail).data,
            }
        )

    @extend_schema(request=s.NewIncidentSerializer, responses={201: s.IncidentDetailSerializer})
    def create(self, request: Request) -> Response:
        """Open an incident by hand. It escalates like any other (level 1 of the channel's
        matching rule is notified now) and ``page`` is notified at once besides. 403 for a
        channel you are not a member of; 400 for a bad title, severity or person to page."""
        payload = s.NewIncidentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        outcome = lifecycle.open_incident(
            values["channel"],
            Actor(request.user, ActionSource.API),
            title=values["title"],
            description=values["description"],
            severity=values["severity"],
            page=values["page"],
        )
        detail = self.get_queryset().get(pk=outcome.incident.pk)
        return Response(s.IncidentDetailSerializer(detail).data, status=201)

    @extend_schema(
        request=s.MergeSerializer,
        responses={
            200: s.ActionResultSerializer,
            400: OpenApiResponse(
                s.ErrorSerializer,
                "invalid: no incident given, one the caller cannot see, this incident itself, "
                "or an incident of another channel",
            ),
            404: OpenApiResponse(s.ErrorSerializer, "not_found: no such incident here"),
            409: OpenApiResponse(
                s.ErrorSerializer,
                "transition_refused: this incident or one to merge is closed (or merged)",
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="merge", url_name="merge")
    def merge(self, request: Request, public_id: str | None = None) -> Response:
        """Move every alert of the given incidents (of this incident's channel, open) into
        this one; they close as merged into it. Undo with an alert's ``split``."""
        target = self.get_object()  # 404 outside the user's channels
        payload = s.MergeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        sources = _visible_incident_ids(request.user, payload.validated_data["incidents"])
        outcome = lifecycle.merge(target, sources, Actor(request.user, ActionSource.API))
        return _action_result(request.user, outcome)


def _errors(described: dict[int, str]) -> dict[int, OpenApiResponse]:
    """Documented error answers, by status code, in the API's one error shape."""
    return {
        status_code: OpenApiResponse(s.ErrorSerializer, description=text)
        for status_code, text in described.items()
    }


_NOTE_NOT_FOUND = {404: "not_found: no such incident (or note) among those you can see."}
_NOTE_PATH = [OpenApiParameter("incident_id", OpenApiTypes.UUID, OpenApiParameter.PATH)]
_NOTE_ID = [OpenApiParameter("note_id", OpenApiTypes.UUID, OpenApiParameter.PATH)]
_NOTE_REFUSALS = _errors(
    {
        400: "invalid: the body is empty or too long (fields.body says which).",
        403: "permission_denied: not a member of the incident's channel; not_your_note: "
        "someone else's note.",
        **_NOTE_NOT_FOUND,
        409: "edit_window_passed: NOTE_EDIT_WINDOW_MINUTES have passed since it was written.",
    }
)


@extend_schema_view(
    list=extend_schema(
        parameters=_NOTE_PATH,
        responses={200: s.IncidentNoteSerializer(many=True), **_errors(_NOTE_NOT_FOUND)},
    ),
    create=extend_schema(
        parameters=_NOTE_PATH,
        responses={201: s.IncidentNoteSerializer, **_NOTE_REFUSALS},
    ),
    retrieve=extend_schema(
        parameters=_NOTE_PATH + _NOTE_ID,
        responses={200: s.IncidentNoteSerializer, **_errors(_NOTE_NOT_FOUND)},
    ),
    partial_update=extend_schema(
        parameters=_NOTE_PATH + _NOTE_ID,
        responses={200: s.IncidentNoteSerializer, **_NOTE_REFUSALS},
    ),
    destroy=extend_schema(
        parameters=_NOTE_PATH + _NOTE_ID,
        responses={204: None, **{c: r for c, r in _NOTE_REFUSALS.items() if c != 400}},
    ),
)
class IncidentNoteViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Notes on an incident, oldest first, as its timeline shows them. Anyone who may act on
    the incident's channel writes notes; a note's author edits (PATCH) or deletes it within
    ``NOTE_EDIT_WINDOW_MINUTES``. Every write goes through the lifecycle service."""

    serializer_class = s.IncidentNoteSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "note_id"
    filter_backends: list = []  # one incident's notes, in timeline order
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = IncidentNote.objects.none()  # for the schema; requests use get_queryset

    def incident(self) -> Incident:
        incidents = visible_incidents(self.request.user).select_related("channel")
        return get_object_or_404(incidents, public_id=self.kwargs["incident_id"])

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return IncidentNote.objects.none()
        return (
            IncidentNote.objects.filter(incident=self.incident())
            .select_related("author", "incident")
            .order_by("created_at", "id")
        )

    def _actor(self) -> Actor:
        return Actor(self.request.user, ActionSource.API)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        incident = self.incident()  # 404 before the body is looked at
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        outcome = lifecycle.add_note(incident, self._actor(), payload.validated_data["body"])
        return Response(self.get_serializer(outcome.note).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: object, **kwargs: object) -> Response:
        note = self.get_object()
        payload = self.get_serializer(note, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        if "body" not in payload.validated_data:
            raise ValidationError({"body": ["Give the note's new text."]})
        outcome = lifecycle.edit_note(note, self._actor(), payload.validated_data["body"])
        return Response(self.get_serializer(outcome.note).data)

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        lifecycle.delete_note(self.get_object(), self._actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChangeFilter(django_filters.FilterSet):
    channel = django_filters.UUIDFilter(field_name="channel__public_id")
    source = django_filters.UUIDFilter(field_name="source__public_id")
    status = django_filters.MultipleChoiceFilter(choices=ChangeStatus.choices)
    changed_after = UtcDateTimeFilter(field_name="changed_at", lookup_expr="gte")
    changed_before = UtcDateTimeFilter(field_name="changed_at", lookup_expr="lt")

    class Meta:
        model = ChangeEvent
        fields = ["channel", "source", "status", "change_key"]


class ChangeCursorPagination(NewestFirstCursorPagination):
    ordering = ("-changed_at", "-id")


class ChangeEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Changes (deployments, configuration changes, change tickets) that change sources
    reported in the caller's channels, latest first. Changes never open incidents; an
    incident's detail lists those under way before it opened (``changes_before``)."""

    serializer_class = s.ChangeEventSerializer
    lookup_field = "public_id"
    pagination_class = ChangeCursorPagination
    filterset_class = ChangeFilter

    def get_queryset(self) -> QuerySet:
        queryset = ChangeEvent.objects.select_related("channel", "source")
        if self.request.user.is_superuser:
            return queryset
        return queryset.filter(channel__in=visible_channels(self.request.user).values("pk"))


class AlertCursorPagination(NewestFirstCursorPagination):
    ordering = ("-first_seen", "-id")


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.AlertSerializer
    lookup_field = "public_id"
    pagination_class = AlertCursorPagination
    filterset_fields = {
        "status": ["exact"],
        "severity": ["exact"],
        "channel__public_id": ["exact"],
        "incident__public_id": ["exact"],
        "alert_key": ["exact"],
        # Noise reduction: ?suppressed=inhibited (or silenced, pipeline_dropped) lists the
        # alerts that opened no incident for that reason; ?suppressed__isnull=true the others.
        "suppressed": ["exact", "isnull"],
    }

    def get_queryset(self) -> QuerySet:
        queryset = Alert.objects.select_related("channel", "source", "incident")
        if self.request.user.is_superuser:
            return queryset
        return queryset.filter(channel__in=visible_channels(self.request.user).values("pk"))

    @extend_schema(
        request=None,
        responses={
            200: s.ActionResultSerializer,
            404: OpenApiResponse(s.ErrorSerializer, "not_found: no such alert here"),
            409: OpenApiResponse(
                s.ErrorSerializer,
                "transition_refused: the incident is closed, or this is its only alert",
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="split", url_name="split")
    def split(self, request: Request, public_id: str | None = None) -> Response:
        """Move this alert out of its incident into a new incident, which escalates like any
        new one; the answer's ``incident`` is the new incident."""
        alert = self.get_object()  # 404 outside the user's channels
        outcome = lifecycle.split(alert, Actor(request.user, ActionSource.API))
        return _action_result(request.user, outcome)


def _incident_details(user: Any) -> QuerySet:
    """Incidents of the user's channels with what their detail shows, in three queries."""
    return (
        visible_incidents(user)
        .select_related("channel", "merged_into")
        .prefetch_related(
            Prefetch("alerts", Alert.objects.select_related("channel", "source", "incident")),
            Prefetch(
                "timeline",
                TimelineEntry.objects.select_related("note__author", "note__incident").order_by(
                    "created_at", "id"
                ),
            ),
        )
    )


def _action_result(user: Any, outcome: lifecycle.Outcome) -> Response:
    detail = _incident_details(user).get(pk=outcome.incident.pk)
    return Response(
        {
            "changed": outcome.changed,
            "message": outcome.message,
            "incident": s.IncidentDetailSerializer(detail).data,
        }
    )


def _visible_incident_ids(user: Any, refs: list[UUID | int]) -> list[int]:
    """The ids of the incidents ``refs`` name (ids or numbers), each visible to ``user``;
    a 400 naming those that are not (as if they did not exist)."""
    ids = [ref for ref in refs if isinstance(ref, UUID)]
    numbers = [ref for ref in refs if isinstance(ref, int)]
    found = visible_incidents(user).filter(Q(public_id__in=ids) | Q(number__in=numbers))
    by_ref: dict[UUID | int, int] = {}
    for pk, public_id, number in found.values_list("pk", "public_id", "number"):
        by_ref[public_id] = by_ref[number] = pk
    missing = [str(ref) for ref in refs if ref not in by_ref]
    if missing:
        message = f"No incident {', '.join(missing)} that you can see."
        raise ValidationError({"detail": message, "incidents": [message]})
    return [by_ref[ref] for ref in refs]


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own API tokens: create (the key is shown once), list, revoke (delete)."""

    serializer_class = s.ApiTokenSerializer
    lookup_field = "public_id"

    queryset = ApiToken.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet:
        if not self.request.user.is_authenticated:  # schema generation
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def perform_create(self, serializer: s.ApiTokenSerializer) -> None:
        token, key = ApiToken.issue(self.request.user, serializer.validated_data["name"])
        token.key = key
        serializer.instance = token


class EscalationRuleFilter(django_filters.FilterSet):
    channel = django_filters.UUIDFilter(field_name="channel__public_id", label="Channel id")

    class Meta:
        model = EscalationRule
        fields = ["channel", "enabled"]


class EscalationRuleViewSet(viewsets.ModelViewSet):
    """Escalation rules with their levels, tried per channel in ``position`` order (the first
    that matches wins). Members read the rules of their channels; staff read and change them as
    their permissions allow (a rule's levels and targets are part of it)."""

    serializer_class = s.EscalationRuleSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    filterset_class = EscalationRuleFilter
    ordering_fields = ["position", "name"]

    def get_queryset(self) -> QuerySet:
        readable = configuration_channels(self.request.user, EscalationRule).values("pk")
        return prefetch_rules(
            EscalationRule.objects.filter(channel__in=readable)
            .select_related("channel")
            .prefetch_related("levels__users", "levels__schedules")
            .order_by("channel__name", "position", "id")
        )
