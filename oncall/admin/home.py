"""The admin's home page: what an admin needs first, above Django's list of models.

Channels with their open incidents, alert sources with their last event, every chat
platform's apps with their last check and the notifications they could not deliver
(``ChatPlatform.admin_apps`` / ``failed_notifications``), and the active people no platform
can reach because they linked no account (``ChatPlatform.linked_people``). Each part is one
or two queries whatever the number of rows, and shown only to an admin who may see its model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Max, Q, QuerySet
from django.urls import reverse

from oncall.models import AlertSource, Channel, Incident
from oncall.platforms import AppStatus, FailedNotification, may_view, platforms

SHOWN = 10  # rows of each part; its title links to the whole list


@dataclass(frozen=True)
class ChannelRow:
    name: str
    open_incidents: int
    url: str


@dataclass(frozen=True)
class SourceRow:
    name: str
    kind: str
    enabled: bool
    last_event_at: datetime | None
    url: str


@dataclass(frozen=True)
class PlatformApps:
    label: str
    apps: list[AppStatus]


@dataclass(frozen=True)
class PlatformFailures:
    label: str
    total: int
    newest: list[tuple[FailedNotification, str]]  # with the incident's admin URL
    url: str


@dataclass
class Overview:
    channels: list[ChannelRow] | None = None
    channels_url: str = ""
    sources: list[SourceRow] | None = None
    sources_url: str = ""
    apps: list[PlatformApps] = field(default_factory=list)
    failures: list[PlatformFailures] = field(default_factory=list)
    # None: the reader may not see people, or no platform links accounts.
    unlinked: list[tuple[str, str]] | None = None
    unlinked_total: int = 0


def overview(user: Any) -> Overview:
    result = Overview()
    if may_view(user, Channel):
        result.channels = channel_rows()
        result.channels_url = reverse("admin:oncall_channel_changelist")
    if may_view(user, AlertSource):
        result.sources = source_rows()
        result.sources_url = reverse("admin:oncall_alertsource_changelist")
    for platform in platforms():
        label = str(platform.label or platform.name)
        apps = platform.admin_apps(user)
        if apps:
            result.apps.append(PlatformApps(label, apps))
        failed = platform.failed_notifications(user, SHOWN)
        if failed.total:
            newest = [(f, _incident_url(f.incident_id)) for f in failed.newest]
            result.failures.append(PlatformFailures(label, failed.total, newest, failed.url))
    if may_view(user, get_user_model()):
        unlinked = unlinked_people()
        if unlinked is not None:
            result.unlinked_total = unlinked.count()
            result.unlinked = [(_name(u), _user_url(u)) for u in unlinked[:SHOWN]]
    return result


def channel_rows() -> list[ChannelRow]:
    """The channels, those with the most open incidents first."""
    open_count = Count("incidents", filter=~Q(incidents__status=Incident.Status.CLOSED))
    channels = Channel.objects.annotate(open_count=open_count).order_by("-open_count", "name")
    return [
        ChannelRow(c.name, c.open_count, reverse("admin:oncall_channel_change", args=[c.pk]))
        for c in channels.only("pk", "name")[:SHOWN]
    ]


def source_rows() -> list[SourceRow]:
    """The sources, the most recently heard from first, then those never heard from."""
    sources = AlertSource.objects.annotate(last_event=Max("inbound_events__received_at"))
    latest_first = F("last_event").desc(nulls_last=True)
    ordered = sources.order_by("-enabled", latest_first, "name").only(
        "pk", "name", "kind", "enabled"
    )
    return [
        SourceRow(
            s.name,
            s.get_kind_display(),
            s.enabled,
            s.last_event,
            reverse("admin:oncall_alertsource_change", args=[s.pk]),
        )
        for s in ordered[:SHOWN]
    ]


def unlinked_people() -> QuerySet | None:
    """Active people with no linked account on any platform, or None when no platform links
    accounts (then nobody is "not linked": there is nothing to link)."""
    linked = [q for q in (p.linked_people() for p in platforms()) if q is not None]
    if not linked:
        return None
    user_model = get_user_model()
    people = user_model.objects.filter(is_active=True)
    for query in linked:
        people = people.exclude(pk__in=query)
    return people.order_by(user_model.USERNAME_FIELD)


def _name(user: Any) -> str:
    from oncall.timeline import display_name  # it imports the models

    return display_name(user)


def _user_url(user: Any) -> str:
    opts = user._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user.pk])


def _incident_url(incident_id: int) -> str:
    return reverse("admin:oncall_incident_change", args=[incident_id])
