"""What the fault drill finds in the database once the backlog drained: its table.

Every alert pushed has a fingerprint of its own, so it should become exactly one ``Alert``,
one incident, and one card (the channel's default rule notifies its one linked member once in
the drill's time). The cards are counted on the sandbox's side, as Feishu would have shown them:
each ``SandboxMessage`` carries the uuid ``oncall-<delivery>-<n>`` the console sent it with, and
the delivery names the incident.

* **lost**: a push answered 2xx whose alert is not stored and that no pending push holds, or
  whose incident has no card and none on its way (no delivery still owed, no level 1 still
  planned); a delivery that gave up counts as lost too: nobody was told;
* **late**: neither stored with its card nor lost when the drill stopped waiting (its push
  still pending, or its card still owed): the backlog had not drained;
* **duplicated**: an alert key stored twice, an alert key in two incidents, an incident with
  more cards than notifications asked for (one);
* **2xx again**: from the fault's end until the last push refused during or after the fault
  (before the next fault began) was refused; 0 when no push was refused;
* **drained**: from the fault's end until the last card of an alert pushed before the fault
  ended reached the sandbox (the backlog the fault built up).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.benchmarks.drill_push import Push

UUID = re.compile(r"^oncall-(\d+)-(\d+)$")
CARDS_PER_INCIDENT = 1


@dataclass
class Stored:
    """The database's view of the run, read in a few queries."""

    alerts: Counter  # alert_key -> Alert rows
    incidents_of: dict[str, set[int]]  # alert_key -> incident ids
    cards_of: Counter  # incident id -> card messages the sandbox accepted
    first_card_at: dict[int, float]  # incident id -> Unix time of its first card
    gave_up: set[int]  # incidents with a delivery that failed for good
    pending_pushes: int  # stored pushes still waiting to be merged
    pending_keys: set[str] = field(default_factory=set)  # alert keys those pushes hold
    on_the_way: set[int] = field(default_factory=set)  # incidents with a card still to come


def read_stored() -> Stored:
    from integrations.feishu.models import CardDelivery
    from integrations.feishu_sandbox.models import SandboxMessage
    from oncall.models import Alert, InboundEvent

    alerts: Counter = Counter()
    incidents_of: dict[str, set[int]] = defaultdict(set)
    for key, incident_id in Alert.objects.values_list("alert_key", "incident_id"):
        alerts[key] += 1
        incidents_of[key].add(incident_id)
    incident_of_delivery = dict(CardDelivery.objects.values_list("pk", "incident_id"))
    cards_of: Counter = Counter()
    first_card_at: dict[int, float] = {}
    messages = SandboxMessage.objects.filter(msg_type="interactive", sender__isnull=True)
    for uuid, created_at in messages.values_list("uuid", "created_at"):
        match = UUID.match(uuid)
        incident_id = incident_of_delivery.get(int(match[1])) if match else None
        if incident_id is None:
            continue
        cards_of[incident_id] += 1
        at = created_at.timestamp()
        first_card_at[incident_id] = min(at, first_card_at.get(incident_id, at))
    gave_up = set(
        CardDelivery.objects.filter(state=CardDelivery.State.FAILED).values_list(
            "incident_id", flat=True
        )
    )
    pending = InboundEvent.objects.filter(status=InboundEvent.Status.PENDING)
    pending_keys = {
        item["event"]["alert_key"]
        for events in pending.values_list("events", flat=True)
        for item in events
    }
    return Stored(
        alerts,
        dict(incidents_of),
        cards_of,
        first_card_at,
        gave_up,
        pending.count(),
        pending_keys,
        cards_on_the_way(),
    )


def cards_on_the_way() -> set[int]:
    """Incidents whose card a sweep or a task will still send: a delivery owed a card (not
    given up), or level 1 still planned (a lost step, which the escalation sweep runs)."""
    from django.db.models import F

    from integrations.feishu.models import CardDelivery
    from oncall.models import Incident

    State = CardDelivery.State
    owed = CardDelivery.objects.filter(
        sent__lt=F("requested"), state__in=[State.PENDING, State.SENT]
    ).values_list("incident_id", flat=True)
    planned = Incident.objects.filter(
        escalation_level=0, next_escalation_at__isnull=False
    ).values_list("pk", flat=True)
    return set(owed) | set(planned)


def missing(pushes: Sequence[Push], stored: Stored) -> tuple[int, int]:
    """(accepted pushes whose alert is not stored, stored alerts whose incident has no card
    yet): what the drill waits for while the backlog drains."""
    no_alert = no_card = 0
    for push in pushes:
        if not push.accepted:
            continue
        incidents = stored.incidents_of.get(push.fingerprint)
        if not incidents:
            no_alert += 1
        elif not any(stored.cards_of[i] or i in stored.gave_up for i in incidents):
            no_card += 1
    return no_alert, no_card


@dataclass
class Row:
    """One line of the table: the pushes first sent in one phase."""

    name: str
    fault_end: float | None = None  # Unix time; None for the phase without a fault
    sent: int = 0
    accepted: int = 0
    retried: int = 0
    refused: int = 0
    late: int = 0
    alerts: int = 0
    incidents: int = 0
    cards: int = 0
    lost: int = 0
    duplicated: int = 0
    again_seconds: float | None = None
    drained_seconds: float | None = None
    lost_keys: list[str] = field(default_factory=list)
    duplicated_keys: list[str] = field(default_factory=list)

    def add(self, push: Push, stored: Stored) -> None:
        self.sent += 1
        self.accepted += push.accepted
        self.retried += push.retried and push.accepted
        self.refused += not push.accepted  # a 4xx, or retried until given up
        incidents = stored.incidents_of.get(push.fingerprint, set())
        self.alerts += bool(incidents)
        self.incidents += len(incidents)
        cards = sum(stored.cards_of[i] for i in incidents)
        self.cards += min(cards, CARDS_PER_INCIDENT * len(incidents))
        extra = (
            max(0, stored.alerts[push.fingerprint] - 1)
            + max(0, len(incidents) - 1)
            + max(0, cards - CARDS_PER_INCIDENT * len(incidents))
        )
        self.duplicated += extra
        if extra:
            self.duplicated_keys.append(push.fingerprint)
        if not push.accepted or (cards and not incidents & stored.gave_up):
            return
        if stored_later(push, incidents, stored):
            self.late += 1
        else:
            self.lost += 1
            self.lost_keys.append(push.fingerprint)

    def cells(self) -> list[str]:
        return [
            self.name,
            str(self.sent),
            str(self.accepted),
            str(self.retried),
            str(self.refused),
            str(self.alerts),
            str(self.incidents),
            str(self.cards),
            str(self.lost),
            str(self.duplicated),
            str(self.late),
            _seconds(self.again_seconds),
            _seconds(self.drained_seconds),
        ]


HEADER = [
    "phase",
    "pushes",
    "2xx",
    "retried",
    "refused",
    "alerts",
    "incidents",
    "cards",
    "lost",
    "duplicated",
    "late",
    "2xx again s",
    "drained s",
]


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return "never" if value == float("inf") else f"{value:.1f}"


def stored_later(push: Push, incidents: set[int], stored: Stored) -> bool:
    """Whether what ``push`` still lacks is on its way: the alert in a pending push, or the
    card of an incident not given up owed by a delivery or a planned level 1."""
    if not incidents:
        return push.fingerprint in stored.pending_keys
    return not incidents & stored.gave_up and bool(incidents & stored.on_the_way)


@dataclass(frozen=True)
class PhaseTimes:
    """When a phase's fault ran (Unix times; None for the phase without a fault) and when the
    next fault began (the end of the window in which refusals are this fault's)."""

    name: str
    fault_start: float | None
    fault_end: float | None
    next_fault_start: float


def rows(
    phases: Sequence[PhaseTimes], pushes: Sequence[Push], refused_at: Sequence[float], s: Stored
) -> list[Row]:
    """One row per phase, then the total (its recovery times: the longest of the phases)."""
    table = [Row(phase.name, phase.fault_end) for phase in phases]
    for push in pushes:
        table[push.phase].add(push, s)
    for index, (phase, row) in enumerate(zip(phases, table, strict=True)):
        if phase.fault_start is None or phase.fault_end is None:
            continue
        row.again_seconds = again_seconds(phase, phase.fault_start, phase.fault_end, refused_at)
        before_end = [p for p in pushes if p.phase == index and p.first_sent < phase.fault_end]
        row.drained_seconds = drained_seconds(phase.fault_end, before_end, s)
    total = Row("total")
    for row in table:
        for name in ("sent", "accepted", "retried", "refused", "alerts"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        for name in ("incidents", "cards", "lost", "duplicated", "late"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.lost_keys += row.lost_keys
        total.duplicated_keys += row.duplicated_keys
    timed = [r for r in table if r.again_seconds is not None]
    if timed:
        total.again_seconds = max(r.again_seconds or 0.0 for r in timed)
        total.drained_seconds = max(r.drained_seconds or 0.0 for r in timed)
    return [*table, total]


def again_seconds(
    phase: PhaseTimes, start: float, end: float, refused_at: Sequence[float]
) -> float:
    mine = [t for t in refused_at if start <= t < phase.next_fault_start]
    return max(0.0, max(mine) - end) if mine else 0.0


def drained_seconds(fault_end: float, pushes: Sequence[Push], stored: Stored) -> float:
    """Seconds from ``fault_end`` until the last first card of ``pushes`` (accepted ones);
    infinite when one of them never got a card."""
    last = fault_end
    for push in pushes:
        if not push.accepted:
            continue
        incidents = stored.incidents_of.get(push.fingerprint, set())
        times = [stored.first_card_at[i] for i in incidents if i in stored.first_card_at]
        if not times:
            return float("inf")
        last = max(last, min(times))
    return last - fault_end
