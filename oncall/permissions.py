"""Who may see and act on which incidents: the one place that decides it.

Superusers act everywhere; everyone else acts on the incidents of channels they are a member of,
directly or through one of the channel's teams (Django groups).
"""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from oncall.models import Channel, Incident


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


def readable_channels(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    """Channels a user may read the configuration of: staff manage all of them."""
    if getattr(user, "is_staff", False) and user.is_active:
        return Channel.objects.all()
    return visible_channels(user)


def manages_configuration(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


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
