"""Maintenance windows: planned work on a channel or an alert source.

From its start to its end a window keeps everyone's phones quiet without hiding anything:

* incidents still open (the alert list, the incident list and their timelines stay whole), but
  one opened during a window is marked "in maintenance" (``Incident.in_maintenance``) on its
  page, in the API and on its card, with the window's name;
* nothing notifies: the escalation's one gate (``oncall.escalation.gate``) asks
  :func:`covering` before anything automatic goes out. An escalation step (a level, a repeat,
  a re-notification after a wake) that comes due while a window covers the incident waits
  until the window ends (its due time moves to the end, in the step's transaction, and a
  timeline entry says why); an alert storm is recorded without notifying anyone. An incident
  still open and unclaimed then is escalated as usual: a problem that outlived the
  maintenance is a real one.

A channel's window covers every incident of the channel; a source's window covers the incidents
its alerts are in, whichever channel they went to. The windows are announced on the channel's
page and in the channel API while they are planned or running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime

from oncall.models import Channel, Incident, MaintenanceWindow
from oncall.timeline_messages import Phrase, phrase


def active(at: datetime) -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.filter(starts_at__lte=at, ends_at__gt=at)


@dataclass
class MaintenanceBook:
    """The windows running at one moment, read once per merge batch."""

    by_channel: dict[int, MaintenanceWindow] = field(default_factory=dict)
    by_source: dict[int, MaintenanceWindow] = field(default_factory=dict)

    @classmethod
    def load(cls, at: datetime) -> MaintenanceBook:
        book = cls()
        for window in active(at).order_by("ends_at"):  # the longest one wins
            if window.channel_id is not None:
                book.by_channel[window.channel_id] = window
            else:
                book.by_source[window.source_id] = window
        return book

    def window_for(self, channel_id: int, source_id: int | None) -> MaintenanceWindow | None:
        """The window a new incident of ``channel_id`` opened by ``source_id`` opens in."""
        return self.by_channel.get(channel_id) or self.by_source.get(source_id or 0)

    def covering(self, incident: Incident, at: datetime) -> MaintenanceWindow | None:
        """:func:`covering`, for a book read moments before ``at`` (the merge reads one for
        the level 1 steps it runs at commit, instead of a query per new incident). A window
        that starts in between is not seen: as if it had been created a moment later. While
        a source's window runs the database answers, since it knows which sources' alerts an
        incident holds."""
        if self.by_source:
            return covering(incident, at)
        window = self.by_channel.get(incident.channel_id)
        return window if window is not None and window.ends_at > at else None


def covering(incident: Incident, at: datetime) -> MaintenanceWindow | None:
    """The running window that covers ``incident`` (its channel's, or one of its alerts'
    sources'), the one ending last; None when none does."""
    return (
        active(at)
        .filter(Q(channel_id=incident.channel_id) | Q(source__alerts__incident=incident))
        .order_by("-ends_at")
        .first()
    )


def hold_message(window: MaintenanceWindow) -> Phrase:
    return phrase("maintenance.hold", name=window.name, end=moment(window.ends_at))


def opened_message(window: MaintenanceWindow) -> Phrase:
    return phrase("maintenance.opened", name=window.name, end=moment(window.ends_at))


def moment(when: datetime) -> str:
    """A time as the timeline's parameters keep it: the same digits in every language."""
    return date_format(localtime(when), "Y-m-d H:i")


def announced(channel: Channel, now: datetime | None = None) -> QuerySet[MaintenanceWindow]:
    """The channel's windows (its own and those of the sources that feed it) running now or
    still to come, soonest first: what its page and API announce."""
    now = now or timezone.now()
    sources = Q(source__channel=channel) | Q(source__routes__channels=channel)
    return (
        MaintenanceWindow.objects.filter(ends_at__gt=now)
        .filter(Q(channel=channel) | sources)
        .select_related("channel", "source")
        .distinct()
        .order_by("starts_at")
    )
