"""What a heartbeat does: record a ping, and notice the ping that did not come.

Both say what happened through the console's normal ingestion (``oncall.ingest.accept``), as a
push of this source would: the sweep hands it a :class:`Signal` "missing", the next ping a
:class:`Signal` "back", and the source's parser (``source.py``) turns either into the one
alert event of the heartbeat (its ``alert_key`` is :data:`ALERT_KEY`). So routing, merging,
incidents and escalation are the usual ones, and the incident closes like any other.

A ``Signal`` is a Python object: no request body decodes to one, so no sender can forge it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.sources.heartbeat.models import Heartbeat
from oncall import ingest
from oncall.events import Severity
from oncall.models import AlertSource

KIND = "heartbeat"
ALERT_KEY = "heartbeat"
DEFAULT_INTERVAL_MINUTES = 60
DEFAULT_GRACE_MINUTES = 10
MAX_MINUTES = 31 * 24 * 60  # a monthly job is the slowest one worth watching
OPTION_KEYS = ("interval_minutes", "grace_minutes", "severity")


@dataclass(frozen=True)
class Schedule:
    """A heartbeat's options: a ping every ``interval``, missing after ``grace`` more."""

    interval: timedelta
    grace: timedelta
    severity: Severity = Severity.CRITICAL

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {
            "interval_minutes": DEFAULT_INTERVAL_MINUTES,
            "grace_minutes": DEFAULT_GRACE_MINUTES,
            "severity": str(Severity.CRITICAL),
        }

    @classmethod
    def from_options(cls, options: Any) -> Schedule:
        """The schedule an options object sets (missing keys keep their defaults), else a
        ``ValidationError`` with the reason."""
        if not isinstance(options, dict):
            raise ValidationError(_("The options must be an object."))
        unknown = sorted(set(options) - set(OPTION_KEYS))
        if unknown:
            raise ValidationError(
                _("Unknown option(s): %(keys)s.") % {"keys": ", ".join(unknown)}
            )
        values = {**cls.defaults(), **options}
        severity = values["severity"]
        if severity not in Severity.values:
            raise ValidationError(
                _("severity must be one of %(severities)s.")
                % {"severities": ", ".join(Severity.values)}
            )
        return cls(
            interval=timedelta(minutes=_minutes(values, "interval_minutes", minimum=1)),
            grace=timedelta(minutes=_minutes(values, "grace_minutes", minimum=0)),
            severity=Severity(severity),
        )

    @property
    def silence_minutes(self) -> int:
        """How long a heartbeat is silent when it is declared missing."""
        return int((self.interval + self.grace).total_seconds() // 60)


def _minutes(values: dict[str, Any], key: str, *, minimum: int) -> int:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_MINUTES:
        raise ValidationError(
            _("%(key)s must be a whole number of minutes from %(minimum)d to %(maximum)d.")
            % {"key": key, "minimum": minimum, "maximum": MAX_MINUTES}
        )
    return value


def schedule_of(source: AlertSource) -> Schedule:
    """The source's schedule; the defaults if its options were stored invalid (the admin
    refuses them, but a heartbeat must keep watching whatever happened to its row)."""
    try:
        return Schedule.from_options(source.options or {})
    except ValidationError:
        return Schedule.from_options({})


@dataclass(frozen=True)
class Signal:
    """What the console itself says about a heartbeat: gone missing, or back."""

    missing: bool
    name: str
    schedule: Schedule
    last_ping_at: datetime
    at: datetime  # when it went missing (the ping's due time), or when it came back


# --- pings -------------------------------------------------------------------------------------


def record_ping(source: AlertSource, now: datetime | None = None) -> Heartbeat:
    """Store a ping of ``source``; when the heartbeat was missing, recover its alert."""
    now = now or timezone.now()
    with transaction.atomic():
        heartbeat, _created = Heartbeat.objects.select_for_update().get_or_create(source=source)
        was_missing = heartbeat.missing_since is not None
        previous = heartbeat.last_ping_at
        Heartbeat.objects.filter(pk=heartbeat.pk).update(
            last_ping_at=now, pings=F("pings") + 1, missing_since=None
        )
        if was_missing and previous is not None:
            signal = Signal(False, source.name, schedule_of(source), previous, now)
            ingest.accept(source, signal, body_bytes=0)
    heartbeat.refresh_from_db()
    return heartbeat


# --- the sweep ---------------------------------------------------------------------------------


def sweep(now: datetime | None = None) -> int:
    """Open an incident for every heartbeat whose ping is overdue (interval plus grace) and
    that is not already missing. Returns how many it opened."""
    now = now or timezone.now()
    watched = Heartbeat.objects.filter(
        source__kind=KIND,
        source__enabled=True,
        last_ping_at__isnull=False,
        missing_since__isnull=True,
    ).select_related("source")
    overdue = [
        heartbeat.pk
        for heartbeat in watched.iterator()
        if _due(heartbeat) <= now
    ]
    return sum(_declare_missing(pk, now) for pk in overdue)


def _due(heartbeat: Heartbeat) -> datetime:
    schedule = schedule_of(heartbeat.source)
    due = heartbeat.due_at(schedule.interval, schedule.grace)
    assert due is not None  # the sweep only looks at pinged heartbeats
    return due


def _declare_missing(pk: int, now: datetime) -> bool:
    """Mark one heartbeat missing and push its alert, unless a ping or another sweep got there
    first (the row is locked and looked at again)."""
    with transaction.atomic():
        heartbeat = (
            Heartbeat.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("source")
            .filter(pk=pk, missing_since__isnull=True, last_ping_at__isnull=False)
            .first()
        )
        if heartbeat is None or _due(heartbeat) > now:
            return False
        due = _due(heartbeat)
        heartbeat.missing_since = due
        heartbeat.save(update_fields=["missing_since"])
        source = heartbeat.source
        signal = Signal(True, source.name, schedule_of(source), heartbeat.last_ping_at, due)
        ingest.accept(source, signal, body_bytes=0)
    return True
