"""Who may see and do what: the one place that decides it.

* Incidents: superusers act everywhere; everyone else acts on the incidents of channels they
  are a member of, directly or through one of the channel's teams (Django groups).
* Insights: a responder's channels; staff who may view incidents, every channel.
  are a member of, directly or through one of the channel's teams (Django groups). The same
  people may open an incident by hand in the channel, and only they may be assigned one of
  its incidents or paged about it (``can_open_incident``, ``can_be_assigned``).
* Configuration (channels, alert sources, routes, escalation rules, a platform's apps): the
  admin's model permissions, in the API too (``ModelPermissions``).
* People: who sees whose e-mail address (``with_email_visibility``).
* Sign-in: who may be signed in by an e-mail match (``may_sign_in_by_email``).
* On-call schedules: every signed-in person reads them all (``visible_schedules``); changing
  them takes the admin's model permissions, as other configuration.
* Shift swaps and calendar feeds: who sees swaps (``visible_swaps``; who may take one is the
  swap service's rule, ``oncall.schedules.swaps``), who sees and rotates a schedule's calendar
  URL (``may_see_schedule_calendar``, ``may_rotate_schedule_calendar``).
"""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import BooleanField, Case, Exists, Model, OuterRef, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.translation import gettext
from rest_framework import permissions as drf_permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from oncall.models import Channel, Incident, LayerParticipant, Schedule, ShiftSwap


def visible_channels(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    if not user.is_authenticated or not user.is_active:
        return Channel.objects.none()
    if user.is_superuser:
        return Channel.objects.all()
    direct, through_team = _memberships(user, OuterRef("pk"))
    return Channel.objects.filter(Exists(direct) | Exists(through_team))


def _memberships(user: AbstractBaseUser, channel: int | OuterRef) -> tuple[QuerySet, QuerySet]:
    """The rule, once: ``user``'s membership of ``channel``, directly and through a team."""
    direct = Channel.members.through.objects.filter(channel_id=channel, user_id=user.pk)
    through_team = Channel.teams.through.objects.filter(channel_id=channel, group__user=user)
    return direct, through_team


def channel_member(channel_id: int) -> Q:
    """A condition on users: a member of the channel, directly or through one of its teams
    (the inverse of ``visible_channels``)."""
    return Q(oncall_channels=channel_id) | Q(groups__oncall_channels=channel_id)


def visible_incidents(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Incident]:
    if getattr(user, "is_superuser", False) and user.is_active:
        return Incident.objects.all()
    return Incident.objects.filter(channel__in=visible_channels(user).values("pk"))


def can_act_on_channel(user: AbstractBaseUser | AnonymousUser, channel_id: int) -> bool:
    """Whether ``visible_channels(user)`` holds the channel, asked as two indexed look-ups,
    the direct membership first: every action on every surface asks it, and the look-up
    costs a third of the CPU of filtering ``visible_channels``."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    direct, through_team = _memberships(user, channel_id)
    return direct.exists() or through_team.exists()


def may_act_on_incident_channel(user: AbstractBaseUser | AnonymousUser) -> Q | Value:
    """``can_act_on_channel`` as a condition on incidents (their ``channel_id``), for a query
    that reads the incident anyway: the lifecycle service annotates the row it locks with it,
    so an action on the card, page or API costs no query of its own for the check."""
    if not user.is_authenticated or not user.is_active:
        return Value(False)
    if user.is_superuser:
        return Value(True)
    direct, through_team = _memberships(user, OuterRef("channel_id"))
    return Q(Exists(direct)) | Q(Exists(through_team))


def can_open_incident(user: AbstractBaseUser | AnonymousUser, channel_id: int) -> bool:
    """Whether ``user`` may open an incident by hand in the channel: whoever may act on its
    incidents (a member, directly or through a team; a superuser)."""
    return can_act_on_channel(user, channel_id)


def can_be_assigned(user: AbstractBaseUser, channel_id: int) -> bool:
    """Whether an incident of the channel may be handed to ``user`` (or ``user`` paged about
    it): someone who can see and act on it once notified, an active member. Handing it to
    anyone else would notify a person who cannot open the incident, let alone claim it."""
    return can_act_on_channel(user, channel_id)


def assignable_people(channel_id: int) -> QuerySet:
    """The people to offer when choosing an assignee: the channel's active members, direct or
    through a team, each once. (A superuser who is not a member may be assigned through the
    API, but is not offered.)"""
    user_model = get_user_model()
    return (
        user_model.objects.filter(channel_member(channel_id), is_active=True)
        .distinct()
        .order_by(user_model.USERNAME_FIELD)
    )


def visible_schedules(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Schedule]:
    """Schedules ``user`` may read: all of them for anyone signed in and active. Rosters are
    shared across teams (whom to call when another team's service breaks), and a schedule
    shows only names and times."""
    if not user.is_authenticated or not user.is_active:
        return Schedule.objects.none()
    return Schedule.objects.all()


# --- Configuration: the admin's model permissions, in the API too ---------------------------
#
# The admin lets a staff member see and change exactly what their model permissions allow (a
# superuser holds them all); the API asks the same question here, so that a staff account with
# no permissions sees as little through the API as in the admin.

Action = Literal["view", "add", "change", "delete"]


def has_model_permission(
    user: AbstractBaseUser | AnonymousUser, model: type[Model], action: Action
) -> bool:
    """Whether ``user`` may ``action`` rows of ``model``, by the admin's rule: an active staff
    member holding ``<app_label>.<action>_<model>``, where ``change`` implies ``view`` (as in
    ``ModelAdmin.has_view_permission``). Superusers may do everything."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not user.is_staff:
        return False
    if action == "view":
        return user.has_perm(_codename(model, "view")) or user.has_perm(_codename(model, "change"))
    return user.has_perm(_codename(model, action))


def _codename(model: type[Model], action: Action) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def configuration_channels(
    user: AbstractBaseUser | AnonymousUser, model: type[Model] = Channel
) -> QuerySet[Channel]:
    """The channels whose ``model`` configuration (the channel itself, its escalation rules)
    ``user`` may read: every channel with the view permission on ``model``, otherwise the
    channels the user is a member of, as every responder may."""
    if has_model_permission(user, model, "view"):
        return Channel.objects.all()
    return visible_channels(user)


def insight_channels(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    """The channels whose insights ``user`` may see: as with incidents, their own channels;
    staff who may view incidents in the admin (superusers too) see every channel's."""
    return configuration_channels(user, Incident)


def readable_channels(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    """Channels a user may read the configuration of."""
    return configuration_channels(user, Channel)


def _required_action(request: Request, view: APIView) -> Action:
    """The permission a request needs, as the admin's pages need them: reading needs view, a
    new row add, removing one delete; an update or any other action (rotate a token, check
    an app) change."""
    if request.method in drf_permissions.SAFE_METHODS:
        return "view"
    return {"create": "add", "destroy": "delete"}.get(getattr(view, "action", ""), "change")


class ModelPermissions(drf_permissions.BasePermission):
    """The admin's model permissions on an API resource, for reading too (DRF's own
    ``DjangoModelPermissions`` lets anyone read): for resources only staff may see, such as
    alert sources, whose push URLs are secrets."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        model = view.get_queryset().model
        action = _required_action(request, view)
        if has_model_permission(request.user, model, action):
            return True
        self.message = _permission_missing(model, action)
        return False


class MembersReadModelPermissionsWrite(ModelPermissions):
    """Everyone signed in reads the rows of their own channels (the view's queryset narrows
    them with ``configuration_channels``); changes need the admin's model permissions."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in drf_permissions.SAFE_METHODS:
            return bool(request.user.is_authenticated)
        return super().has_permission(request, view)


def _permission_missing(model: type[Model], action: Action) -> str:
    if action == "view":
        return gettext("Only staff with the permission %(view)s or %(change)s may see this.") % {
            "view": _codename(model, "view"),
            "change": _codename(model, "change"),
        }
    return gettext("Only staff with the permission %(permission)s may do this.") % {
        "permission": _codename(model, action)
    }


# --- People ----------------------------------------------------------------------------------


def with_email_visibility(users: QuerySet, viewer: AbstractBaseUser | AnonymousUser) -> QuerySet:
    """``users`` annotated with ``email_visible``: whether ``viewer`` may see each one's
    e-mail address. Staff with the view permission on users see all of them (superusers
    too); everyone else sees their own and those of the people they share a channel with,
    whom they work with anyway. An address is how an outsider would start phishing."""
    return users.annotate(
        email_visible=Case(
            When(_email_visible_to(viewer), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def _email_visible_to(viewer: AbstractBaseUser | AnonymousUser) -> Q:
    if has_model_permission(viewer, get_user_model(), "view"):
        return Q(pk__isnull=False)
    if not viewer.is_authenticated or not viewer.is_active:
        return Q(pk__in=[])
    shared = visible_channels(viewer).values("pk")
    direct = Channel.members.through.objects.filter(channel__in=shared).values("user_id")
    through_team = Channel.teams.through.objects.filter(
        channel__in=shared, group__user__isnull=False
    ).values("group__user")
    return Q(pk=viewer.pk) | Q(pk__in=direct) | Q(pk__in=through_team)


# --- Sign-in ---------------------------------------------------------------------------------


def may_sign_in_by_email(user: AbstractBaseUser) -> bool:
    """Whether a chat platform may link ``user`` to one of its accounts (and so sign them in)
    because their e-mail addresses match. Never staff or superusers: whoever controls the
    address in the platform's directory (its tenant administrator, a recycled mailbox) would
    become an administrator of the console. They link from a session they signed in to."""
    return not (user.is_staff or user.is_superuser)


# --- Schedules: shift swaps and calendar feeds ------------------------------------------------


def visible_swaps(user: AbstractBaseUser | AnonymousUser) -> QuerySet[ShiftSwap]:
    """The swaps of schedules ``user`` takes part in (is in a layer's turn order), and their
    own requests; every swap for staff with the view permission on shift swaps."""
    if not user.is_authenticated or not user.is_active:
        return ShiftSwap.objects.none()
    if has_model_permission(user, ShiftSwap, "view"):
        return ShiftSwap.objects.all()
    taking_part = LayerParticipant.objects.filter(
        layer__schedule_id=OuterRef("schedule_id"), user_id=user.pk
    )
    return ShiftSwap.objects.filter(Q(Exists(taking_part)) | Q(requester_id=user.pk))


def may_see_schedule_calendar(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` may see schedules' calendar URLs: everyone signed in, as everyone sees
    the schedules' pages (the feed holds what the page shows)."""
    return bool(user.is_authenticated and user.is_active)


def may_rotate_schedule_calendar(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Rotating a schedule's URL breaks everyone's subscription to it, so it takes the
    permission to change schedules (whoever has seen the URL and should no longer: a leaver)."""
    return has_model_permission(user, Schedule, "change")


# --- /metrics -----------------------------------------------------------------------------------


def metrics_refusal(request: HttpRequest) -> tuple[int, str] | None:
    """Why ``request`` may not scrape ``/metrics`` (an HTTP status and the reason), or None.

    Every check configured must pass: the bearer token (``METRICS_TOKEN``) and the client's
    address (``METRICS_ALLOWED_IPS``). With neither configured the endpoint is off (404):
    never open by default. The one exception is the development run (``DEBUG``), where a
    scraper on the same machine needs nothing."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    address = _client_address(request)
    if not token and not networks:
        if settings.DEBUG and address is not None and address.is_loopback:
            return None
        return 404, "Metrics are off: set METRICS_TOKEN or METRICS_ALLOWED_IPS to turn them on."
    if networks and not (address and any(address in ip_network(n) for n in networks)):
        return 403, "This address may not read the metrics."
    if token and not _bearer_matches(request, token):
        return 403, "The metrics need the bearer token (Authorization: Bearer <METRICS_TOKEN>)."
    return None


def _client_address(request: HttpRequest) -> IPv4Address | IPv6Address | None:
    """The peer's address as the console sees it. X-Forwarded-For is not read: anyone can
    write it (behind a proxy, use the token, or list the proxy's address)."""
    try:
        address = ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # ::ffff:10.0.0.5 is 10.0.0.5 for the allow-list
    return address


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Compared as digests, in constant time: neither the token's content nor its length
    # shows in how long a wrong guess takes to be refused.
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(_digest(given.strip()), _digest(token))


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
