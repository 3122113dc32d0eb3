"""A heartbeat's schedule (its options) and what the console says about it (a :class:`Signal`),
made into the heartbeat's one alert event. No models here: the source class imports this module
while the registry is read, before the models are ready.

A signal reaches ingestion as the JSON object ``{"heartbeat": {"state": "missing" | "back",
"name", "interval_minutes", "grace_minutes", "severity", "last_ping_at", "at"}}`` (the push
that the sweep or a ping makes; ``fixtures/`` has both). No sender can post one: every request
on a heartbeat's URL is a ping, answered before its body is read as a push
(``HeartbeatSource.handshake``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from integrations.sources.common import (
    get_str,
    optional_object,
    parse_time,
    require_object,
    truncate,
)
from oncall.events import AlertEvent, EventKind, PayloadError, Severity

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
            raise ValidationError(_("Unknown option(s): %(keys)s.") % {"keys": ", ".join(unknown)})
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
    def interval_minutes(self) -> int:
        return int(self.interval.total_seconds() // 60)

    @property
    def grace_minutes(self) -> int:
        return int(self.grace.total_seconds() // 60)

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


def schedule_of(options: Any) -> Schedule:
    """A source's schedule; the defaults if its options were stored invalid (the admin refuses
    them, but a heartbeat must keep watching whatever happened to its row)."""
    try:
        return Schedule.from_options(options or {})
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

    def to_payload(self) -> dict[str, Any]:
        return {
            "heartbeat": {
                "state": "missing" if self.missing else "back",
                "name": self.name,
                "interval_minutes": self.schedule.interval_minutes,
                "grace_minutes": self.schedule.grace_minutes,
                "severity": str(self.schedule.severity),
                "last_ping_at": self.last_ping_at.isoformat(),
                "at": self.at.isoformat(),
            }
        }

    @classmethod
    def from_payload(cls, payload: Any) -> Signal:
        """The signal a payload holds, else a ``PayloadError``."""
        body = optional_object(require_object(payload, None), "heartbeat", field="heartbeat")
        state = get_str(body, "state", field="heartbeat.state", required=True)
        if state not in ("missing", "back"):
            raise PayloadError(
                "heartbeat.state must be missing or back, not " + repr(truncate(state, 40)),
                field="heartbeat.state",
            )
        try:
            schedule = Schedule.from_options({key: body.get(key) for key in OPTION_KEYS})
        except ValidationError as error:
            raise PayloadError(" ".join(error.messages), field="heartbeat") from None
        last_ping_at = parse_time(body.get("last_ping_at"), field="heartbeat.last_ping_at")
        at = parse_time(body.get("at"), field="heartbeat.at")
        if last_ping_at is None or at is None:
            raise PayloadError(
                "heartbeat.last_ping_at and heartbeat.at are required", field="heartbeat"
            )
        name = get_str(body, "name", field="heartbeat.name", required=True)
        return cls(state == "missing", name, schedule, last_ping_at, at)


def recognises(payload: Any) -> bool:
    """A signal's JSON: an object whose ``heartbeat`` object has a ``state``."""
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("heartbeat"), dict)
        and "state" in payload["heartbeat"]
    )


def event_of(signal: Signal) -> AlertEvent:
    """The heartbeat's alert event: firing when it went missing, resolved when it is back."""
    labels = {
        "heartbeat": signal.name,
        "interval_minutes": str(signal.schedule.interval_minutes),
        "grace_minutes": str(signal.schedule.grace_minutes),
    }
    last = f"{signal.last_ping_at:%Y-%m-%d %H:%M:%S %Z}".strip()
    if signal.missing:
        silence = duration(signal.schedule.silence_minutes)
        return AlertEvent(
            alert_key=ALERT_KEY,
            kind=EventKind.FIRING,
            title=f"No heartbeat from {signal.name} for {silence}",
            severity=signal.schedule.severity,
            raw_severity="missing",
            description=(
                f"Expected a ping every {signal.schedule.interval_minutes} min, with "
                f"{signal.schedule.grace_minutes} min of grace; the last one arrived at {last}."
            ),
            labels=labels,
            starts_at=signal.at,
        )
    silent = int((signal.at - signal.last_ping_at).total_seconds() // 60)
    return AlertEvent(
        alert_key=ALERT_KEY,
        kind=EventKind.RESOLVED,
        title=f"Heartbeat from {signal.name} is back",
        severity=Severity.INFO,
        description=(
            f"A ping arrived after {duration(silent)} of silence (the last one before: {last})."
        ),
        labels=labels,
        ends_at=signal.at,
    )


def duration(minutes: int) -> str:
    """``35 min``, ``3 h``, ``2 h 30 min``, ``7 d``: minutes below two hours, hours below two
    days, days beyond."""
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 2 * 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, rest = divmod(minutes, 24 * 60)
    return f"{days} d {rest // 60} h" if rest >= 60 else f"{days} d"
