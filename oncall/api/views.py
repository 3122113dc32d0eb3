"""The REST API's resources. Scoping and permissions come from ``oncall.permissions``; incident
actions go through ``oncall.lifecycle`` like every other surface."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from oncall import lifecycle
from oncall.api import serializers as s
from oncall.api.pagination import NewestFirstCursorPagination
from oncall.events import Severity
from oncall.incident_list import search_condition
from oncall.models import (
    ActionSource,
    Alert,
    AlertSource,
    ApiToken,
    EscalationRule,
    Incident,
    Route,
    TimelineEntry,
)
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
from oncall.timeline import Actor

User = get_user_model()


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
    claimed_by = django_filters.NumberFilter(field_name="claimed_by_id")
    mine = django_filters.BooleanFilter(method="filter_mine", label="Claimed by me")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        method="filter_q", label="Search: title words, or an incident number (#123 or 123)"
    )

    class Meta:
        model = Incident
        fields = ["status", "severity", "channel", "claimed_by", "number"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The web list's search, so that the same words find the same incidents.
        return queryset.filter(search_condition(value)) if value else queryset

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
        detail = self.get_queryset().get(pk=outcome.incident.pk)
        return Response(
            {
                "changed": outcome.changed,
                "message": outcome.message,
                "incident": s.IncidentDetailSerializer(detail).data,
            }
        )

    # DRF routes an action by its function's name, so it is named before being decorated.
    view.__name__ = name
    view.__doc__ = doc
    documented = extend_schema(request=body, responses=s.ActionResultSerializer)(view)
    return action(detail=True, methods=["post"], url_path=name, url_name=name)(documented)


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    """Incidents of the caller's channels. Actions follow the same rules as cards and pages:
    a state the incident already has answers ``changed: false``; an impossible one 409."""

    lookup_field = "public_id"
    filterset_class = IncidentFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self) -> QuerySet:
        queryset = visible_incidents(self.request.user).select_related("channel")
        if self.action != "list":
            queryset = queryset.prefetch_related(
                Prefetch("alerts", Alert.objects.select_related("channel", "source", "incident")),
                Prefetch("timeline", TimelineEntry.objects.order_by("created_at", "id")),
            )
        return queryset

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
    }

    def get_queryset(self) -> QuerySet:
        queryset = Alert.objects.select_related("channel", "source", "incident")
        if self.request.user.is_superuser:
            return queryset
        return queryset.filter(channel__in=visible_channels(self.request.user).values("pk"))


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
