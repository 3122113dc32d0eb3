"""Quick silence: from an incident (its page, its card's menu, the API), silence alerts like its
own for 24 hours, in one click. An ``oncall.offers`` provider (``INCIDENT_OFFERS``), so every
surface offers and runs it the same way, members of the channel only.

The silence made is an ordinary one-time silence of the channel (``oncall.noise.silences``),
editable afterwards in the admin and the API: from now for ``QUICK_SILENCE_HOURS``, "keep and
mark", matching the incident's severity and its *stable* labels. Using it again on the same
incident edits that same silence (its matchers taken afresh, its end 24 hours from then), never
a second one.

Stable labels are those every alert of the incident carries with the same value, less those
that change from one event to the next and would make the silence match nothing next time:

* names that say so: ``value``, ``time``, ``timestamp``, ``startsAt``..., and names ending in
  ``_value``, ``_time``, ``_at`` or ``_ts`` (:data:`VOLATILE_NAMES`, :data:`VOLATILE_SUFFIXES`);
* values that read as a measurement or a moment: a decimal number (``93.7``) or a timestamp
  (``2026-12-04T10:00:00Z``). Whole numbers stay (a port, an HTTP status, a shard).

An incident none of whose labels are stable is silenced by its exact title instead, so a quick
silence never silences a whole severity of the channel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.formats import localize
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from oncall.models import Alert, Incident, Silence, TimelineEntry
from oncall.noise.maintenance import moment
from oncall.offers import ActionResult, OfferedAction, OfferedLink
from oncall.timeline import Actor, record
from oncall.timeline_messages import phrase

KEY = "quick_silence"
QUICK_SILENCE_HOURS = 24
# The alerts whose labels are compared (the first ones: a storm's thousands add nothing).
STABLE_LABELS_ALERTS = 500
VOLATILE_NAMES = frozenset(
    {
        "value",
        "values",
        "current_value",
        "currentvalue",
        "time",
        "timestamp",
        "ts",
        "startsat",
        "starts_at",
        "endsat",
        "ends_at",
        "fired_at",
        "firedat",
        "duration",
        "__value__",
    }
)
VOLATILE_SUFFIXES = ("_value", "_time", "_at", "_ts")
_DECIMAL = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?%?")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def stable_labels(incident: Incident) -> dict[str, str]:
    """Labels every alert of the incident carries with the same value, less volatile ones."""
    common: dict[str, str] | None = None
    alerts = Alert.objects.filter(incident=incident).order_by("pk")[:STABLE_LABELS_ALERTS]
    for labels in alerts.values_list("labels", flat=True):
        labels = labels or {}
        if common is None:
            common = dict(labels)
        else:
            common = {k: v for k, v in common.items() if labels.get(k) == v}
    return {k: v for k, v in sorted((common or {}).items()) if not _volatile(k, v)}


def _volatile(name: str, value: str) -> bool:
    lowered = name.lower()
    if lowered in VOLATILE_NAMES or lowered.endswith(VOLATILE_SUFFIXES):
        return True
    return bool(_DECIMAL.fullmatch(value) or _MOMENT.match(value))


def quick_condition(incident: Incident) -> list[dict[str, str]]:
    """The quick silence's matchers (AND): the incident's severity and stable labels, or its
    title when no label is stable."""
    matchers = [{"key": "severity", "op": "eq", "value": incident.severity}]
    labels = stable_labels(incident)
    if not labels:
        return [*matchers, {"key": "title", "op": "eq", "value": incident.title}]
    return matchers + [{"key": f"labels.{k}", "op": "eq", "value": v} for k, v in labels.items()]


def quick_silence(incident: Incident, actor: Actor) -> Silence:
    """Make the incident's quick silence, or edit the one it has: 24 hours from now."""
    now = timezone.now()
    with transaction.atomic():
        silence = Silence.objects.select_for_update().filter(from_incident=incident).first()
        if silence is None:
            silence = Silence(channel_id=incident.channel_id, from_incident=incident)
            silence.created_by = actor.user
        silence.name = _("Quick silence from #%(number)s %(title)s") % {
            "number": incident.number,
            "title": incident.title,
        }
        silence.name = silence.name[:200]
        silence.enabled = True
        silence.kind = Silence.Kind.ONCE
        silence.behaviour = Silence.Behaviour.MARK
        silence.starts_at, silence.ends_at = now, now + timedelta(hours=QUICK_SILENCE_HOURS)
        silence.condition = quick_condition(incident)
        silence.full_clean()
        silence.save()
        record(
            incident,
            TimelineEntry.Kind.SILENCED,
            actor,
            phrase("silenced", end=moment(silence.ends_at)),
            data={"silence": str(silence.public_id), "condition": silence.condition},
        )
    return silence


def _when(silence: Silence) -> str:
    return localize(localtime(silence.ends_at))


class QuickSilenceOffers:
    """The ``oncall.offers`` provider: "Quick silence (24 h)" on every open alert incident."""

    def links(self, incident: Incident) -> list[OfferedLink]:
        return []

    def actions(self, incident: Incident) -> list[OfferedAction]:
        if not incident.is_open or incident.is_manual or incident.is_merged:
            return []
        return [
            OfferedAction(
                KEY,
                _("Quick silence (24 h)"),
                confirm=_(
                    "For 24 hours, new alerts like this one open no incident and notify "
                    "nobody (they stay in the alert list, marked silenced). Silence them?"
                ),
                icon="🔕",
            )
        ]

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        if key != KEY:
            return None
        silence = quick_silence(incident, actor)
        return ActionResult(True, _summary(silence))


def _summary(silence: Silence) -> str:
    matched = ", ".join(_matcher_text(m) for m in silence.condition)
    return _("Silenced until %(end)s: new alerts with %(matched)s.") % {
        "end": _when(silence),
        "matched": matched,
    }


def _matcher_text(matcher: dict[str, Any]) -> str:
    return f"{matcher['key'].removeprefix('labels.')}={matcher['value']}"
