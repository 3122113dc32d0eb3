"""The escalation engine: level by level, notify the incident's rule's targets until it is
claimed (or, by a rule option, closed).

State lives on the incident (``escalation_rule``, ``escalation_level``, ``escalation_repeats``,
``escalation_loops``, ``next_escalation_at``) and every step is planned in the same transaction
as the change that makes it necessary, on the locked row: the merge calls ``plan_start`` for a
new incident, the lifecycle calls ``plan_start`` for a reopen and ``plan_after_change`` after
every other change (claim, unclaim, snooze, wake, close). A planned step commits with its change
or not at all; nothing waits for an announcement.

After commit, the step is handed to a Celery task scheduled for ``next_escalation_at`` (for a
new or reopened incident, the runner of due steps on the cards queue, which takes every due
step in batches, so that ingestion never waits for notifications: ``ring``). That is only a
shortcut: the sweep (Celery beat, every 15 s) hands out every step overdue by ``SWEEP_GRACE``,
so a lost task, a restarted broker or a process killed between the commit and its callbacks
delays a notification by seconds and never drops it. A step locks the incident row and acts
only if the incident still expects exactly that step, so a step delivered twice notifies once;
it re-reads the incident and passes the one gate (``gate``): a claimed, snoozed, closed or
flapping-quiet one is not notified, and one a maintenance window covers waits for the window's
end.

A step reads its incident's rule and levels from the channel's rules as kept for their version
(``oncall.escalation_rules``), with no query while they stay as they are.

Notifying is the chat platforms' business (``oncall.platforms``): each installed platform is
asked to notify the level, inside the step's transaction; it must hand slow work to tasks that
run after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from oncall.batch_answers import keep_on, kept
from oncall.escalation_rules import levels_of, rule_for, rule_of
from oncall.models import (
    EscalationLevel,
    EscalationRule,
    Incident,
    MaintenanceWindow,
    TimelineEntry,
)
from oncall.noise import maintenance
from oncall.platforms import LevelReport, describe_notified, platforms
from oncall.rows import update_rows
from oncall.timeline import Actor, build, record, record_many
from oncall.timeline_messages import Phrase, phrase

logger = logging.getLogger(__name__)

Kind = TimelineEntry.Kind
# A step this late is presumed lost and handed out again by the sweep.
SWEEP_GRACE = timedelta(seconds=15)
SWEEP_BATCH = 500


def _notify(
    incident: Incident, rule: EscalationRule, level: EscalationLevel, now: datetime
) -> LevelReport:
    """Every platform notifies the level's people (resolved once, here, with whoever is on
    call ``now`` in its schedules) and its own targets; a schedule with nobody on call is
    reported as unreachable. A batch of steps asks once per level (``oncall.batch_answers``)."""
    reach = kept(level, ("reach", now), lambda: level.reach(now))
    return LevelReport.combine(
        [
            *(platform.notify(incident, rule, level, reach.people) for platform in platforms()),
            LevelReport([], reach.unreachable),
        ]
    )


# --- Planning, inside the change's transaction -----------------------------------------------


def plan_start(incident: Incident, now: datetime) -> None:
    """Plan escalation from the first level of the first matching rule, due ``now`` (a new or
    reopened incident). Call it inside the change's transaction, with the incident row locked
    (or created by that transaction); it saves the escalation fields. After commit the step
    goes to a task (``hand_out_starts``); if that is lost the sweep runs the step. The
    incident's ``channel`` must be current (read with the lock, or by the transaction that
    creates it): its version says which kept rules to choose from."""
    rule = rule_for(incident, now, channel=incident.channel)
    start_plan(incident, rule, now)
    save_plan(incident)
    if rule is None:
        record(incident, Kind.ESCALATION, Actor.system(), no_rule_message())
    hand_out_starts([incident])


def start_plan(incident: Incident, rule: EscalationRule | None, now: datetime) -> None:
    """Point the incident at the first level of ``rule``, due ``now`` when it may escalate;
    nothing is saved (``save_plan``)."""
    incident.escalation_rule = rule
    incident.escalation_level = incident.escalation_repeats = incident.escalation_loops = 0
    incident.escalation_finished_at = None
    incident.next_escalation_at = now if rule is not None and _may_escalate(incident) else None


def planned_as(incident: Incident, rule: EscalationRule | None) -> bool:
    """Whether the incident's escalation fields already say what ``start_plan`` with ``rule``
    would (the merge plans a new incident when it writes it, and checks at the end of the
    batch that nothing it did since changed the plan)."""
    return (
        incident.escalation_rule_id == (rule.pk if rule is not None else None)
        and incident.escalation_level == incident.escalation_repeats == 0
        and incident.escalation_loops == 0
        and incident.escalation_finished_at is None
        and (incident.next_escalation_at is not None)
        == (rule is not None and _may_escalate(incident))
    )


def save_plan(incident: Incident) -> None:
    _save(incident, "escalation_rule")


def no_rule_message() -> Phrase:
    return phrase("escalation.no_rule")


def hand_out_starts(incidents: list[Incident]) -> None:
    """Once committed, have the incidents' planned first steps run from the cards queue
    (``ring``): what they notify should not wait behind ingestion, and ingestion should not
    wait for it. A shortcut only, hence ``robust``: if the ring is lost, the sweep hands the
    steps out."""
    if any(incident.next_escalation_at is not None for incident in incidents):
        transaction.on_commit(ring, robust=True)


# --- Due steps, run together -------------------------------------------------------------------
#
# A burst of alerts opens incidents in many merges, each a few. Rather than a task per merge,
# each merge rings a bell (a key added to the shared cache): the first ring queues a runner on
# the cards queue, the others find it rung and queue nothing. The runner unrings the bell
# before it reads anything, so a step committed from then on rings again, and takes every due
# step in batches, in one transaction each. The database says what is due; the bell only
# saves tasks: flushed, it rings once more, and stuck (a runner lost with its worker), it
# unrings by itself after ``RUNNER_RUNG_SECONDS`` while the sweep runs what was left.

RUNNER_RUNG_KEY = "escalation:runner-rung"
RUNNER_RUNG_SECONDS = 30
# Due steps one transaction runs at most.
RUNNER_BATCH = 100
# A runner takes steps due this long at most; older ones are the sweep's (a step that fails
# every time is then no longer retried by every runner).
RUNNER_WINDOW = timedelta(minutes=10)
# A runner that left due steps another transaction held rings again after this.
RUNNER_AGAIN_SECONDS = 1.0


def ring() -> None:
    """Queue a runner of the due steps, unless one is queued and has not begun yet."""
    if cache.add(RUNNER_RUNG_KEY, True, timeout=RUNNER_RUNG_SECONDS):
        from oncall.tasks import escalation_start

        escalation_start.delay()


def run_due_steps() -> int:
    """Run every step due now (within ``RUNNER_WINDOW``), a batch at a time; the maintenance
    windows running now are read once for all. Rows another transaction holds are skipped, not
    waited for (a merge closes several incidents in its own order), and rung for again in a
    moment. Returns the steps run or tried."""
    cache.delete(RUNNER_RUNG_KEY)  # a step committed from now on rings again
    windows = maintenance.MaintenanceBook.load(timezone.now())
    tried: set[int] = set()
    failed: set[int] = set()
    while True:
        batch = _run_due_batch(windows, failed)
        tried.update(batch)
        if len(batch) < RUNNER_BATCH:
            break
    if _due_ids(timezone.now()) - tried:
        from oncall.tasks import escalation_start

        escalation_start.apply_async(countdown=RUNNER_AGAIN_SECONDS)
    return len(tried)


def _run_due_batch(windows: maintenance.MaintenanceBook, failed: set[int]) -> list[int]:
    """One batch of due steps, in one transaction; when it fails, its steps one by one, each
    in its own, so that one failing step does not hold up the others (the ones that fail are
    added to ``failed``, and later batches leave them out). The ids tried."""
    ids: list[int] = []
    try:
        with transaction.atomic():
            now = timezone.now()
            incidents = _lock_due(now, failed)
            ids = [incident.pk for incident in incidents]
            _run_locked(incidents, windows, now)
    except OperationalError:
        raise  # the database is away: the task is retried
    except Exception:
        if not ids:
            raise
        logger.exception("a batch of %d escalation steps failed: running them alone", len(ids))
        failed.update(incident_id for incident_id in ids if not _run_alone(incident_id, windows))
    return ids


def _run_alone(incident_id: int, windows: maintenance.MaintenanceBook) -> bool:
    """The incident's planned step in a transaction of its own (``step``); False when it
    failed."""
    try:
        step(incident_id, None, windows)
    except OperationalError:
        raise
    except Exception:
        logger.exception("escalation step of incident %s failed", incident_id)
        return False
    return True


def _due(now: datetime) -> QuerySet[Incident]:
    return (
        Incident.objects.filter(
            next_escalation_at__lte=now, next_escalation_at__gt=now - RUNNER_WINDOW
        )
        .exclude(status=Incident.Status.CLOSED)
        .order_by("next_escalation_at", "pk")
    )


def _lock_due(now: datetime, leaving_out: set[int]) -> list[Incident]:
    """The due steps' incidents no other transaction holds, locked, with their channels."""
    due = _due(now).exclude(pk__in=leaving_out) if leaving_out else _due(now)
    locked = due.select_for_update(skip_locked=True, of=("self",)).select_related("channel")
    return list(locked[:RUNNER_BATCH])


def _due_ids(now: datetime) -> set[int]:
    return set(_due(now).values_list("pk", flat=True)[:RUNNER_BATCH])


def _run_locked(
    incidents: list[Incident], windows: maintenance.MaintenanceBook, now: datetime
) -> None:
    """The planned steps of locked incidents, at one moment. The incidents of one rule share
    its instance, so that what their level is asked (whom it reaches, its chats, its app) is
    asked once (``oncall.batch_answers``); their writes go in one round trip each."""
    for rule in _share_rules(incidents):
        keep_on(rule, *levels_of(rule))
    writes = StepWrites()
    for incident in incidents:
        _step_locked(incident, incident.next_escalation_at, windows, writes, now)
    writes.flush()


def plan_after_change(incident: Incident, now: datetime) -> None:
    """After a claim, unclaim, snooze, wake or close (or flapping that starts or ends quieting
    it), inside its transaction with the incident row locked: decide from the incident's
    state alone (``_may_escalate``, the first half of ``gate``), never from what the change
    was. A stopped incident plans nothing (the level
    reached is kept); one that may escalate again while nothing is planned has its last
    notified level notified again, due ``now`` (a wake, an unclaim, a claim that ended a snooze
    under "stop when closed"); one already planned keeps its plan, and one whose escalation ran
    out stays finished."""
    if replan_after_change(incident, now):
        _save(incident)
        schedule(incident)


def replan_after_change(incident: Incident, now: datetime) -> bool:
    """``plan_after_change`` in memory: True when it changed the escalation fields, which the
    caller then saves (``ESCALATION_FIELDS``, with its own change's in one UPDATE) and hands
    to a task once committed (``schedule``)."""
    if not _replan_may_change(incident):
        return False
    if incident.next_escalation_at is not None:  # stopped, with a step still planned
        incident.next_escalation_at = None
        return True
    _back_to_last_notified(incident)
    incident.next_escalation_at = now
    return True


def _replan_may_change(incident: Incident) -> bool:
    """Whether ``plan_after_change`` changes anything: only when whether the incident may
    escalate (``_may_escalate``) disagrees with whether a step is planned, and it has a rule
    whose escalation did not run out. Most changes (a snooze of a snoozed incident, a claim
    of one already stopped) need no write."""
    if incident.escalation_rule_id is None or incident.escalation_finished_at is not None:
        return False
    return _may_escalate(incident) != (incident.next_escalation_at is not None)


def _back_to_last_notified(incident: Incident) -> None:
    """Undo ``_plan_next``: point the incident at the level its last step notified, as a first
    notification of that level. A planned repeat stays on its level; a plan that moved on goes
    back one level, or, when it had looped back to the first level, to the previous round's
    last level."""
    if incident.escalation_repeats == 0:
        if incident.escalation_level > 0:
            incident.escalation_level -= 1
        elif incident.escalation_loops > 0:
            incident.escalation_loops -= 1
            incident.escalation_level = incident.escalation_rule.levels.count() - 1
    incident.escalation_repeats = 0


def move_to_level(
    incident: Incident, rule: EscalationRule, index: int, now: datetime
) -> LevelReport:
    """Assign the incident to level ``index`` (from 0) of ``rule`` (``lifecycle.assign_level``):
    notify that level now and go on from it as if the escalation had just reached it: its
    repeats, then the next levels after their times, then the rule's rounds. Inside the
    change's transaction with the row locked, like the planning above; the caller records the
    timeline (one entry for the assignment and whom it notified)."""
    levels = list(rule.levels.order_by("position", "id"))
    level = levels[index]
    incident.escalation_rule = rule
    incident.escalation_level = index
    incident.escalation_repeats = incident.escalation_loops = 0
    incident.escalation_finished_at = None
    notified = _notify(incident, rule, level, now)
    _plan_next(incident, rule, level, len(levels), now)
    _save(incident, "escalation_rule")
    schedule(incident)
    return notified


def leave_rule(incident: Incident) -> None:
    """An incident assigned to a person leaves its escalation rule: from now on that person
    alone is notified (PagerDuty's "reassign to a user"), and no later change (an unclaim, a
    wake) starts the rule again; a reopen or an assignment to a level does. Inside the
    change's transaction with the row locked."""
    incident.escalation_rule = None
    incident.escalation_level = incident.escalation_repeats = incident.escalation_loops = 0
    incident.next_escalation_at = None
    incident.escalation_finished_at = None
    _save(incident, "escalation_rule")


def last_notified_level(incident: Incident) -> int | None:
    """The index of the level of its rule the incident's last step notified (what
    ``_back_to_last_notified`` points back at), without changing anything; None when no
    level was notified yet or it has no rule."""
    rule = incident.escalation_rule
    if rule is None:
        return None
    count = rule.levels.count()
    index = incident.escalation_level
    if incident.escalation_repeats == 0:
        if index > 0:
            index -= 1
        elif incident.escalation_loops > 0:
            index = count - 1
        else:
            return None
    return min(index, count - 1) if count else None


def notify_current_level(incident: Incident, now: datetime) -> tuple[int, LevelReport]:
    """Notify once more the level the incident's escalation last notified (an alert storm),
    inside the caller's transaction; its plan is unchanged. (level from 1, report); level 0
    when there is none."""
    index = last_notified_level(incident)
    if index is None:
        return 0, LevelReport()
    rule = incident.escalation_rule
    level = list(rule.levels.order_by("position", "id"))[index]
    return index + 1, _notify(incident, rule, level, now)


def next_level(incident: Incident) -> int | None:
    """The level (from 1) the next planned step notifies; None when nothing is planned or
    only the closing step of a rule whose every level was notified is left."""
    rule = incident.escalation_rule
    if incident.next_escalation_at is None or rule is None:
        return None
    if incident.escalation_level >= rule.levels.count():
        return None
    return incident.escalation_level + 1


# --- One step ------------------------------------------------------------------------------------


def step(
    incident_id: int, due_iso: str | None, windows: maintenance.MaintenanceBook | None = None
) -> None:
    """Run the step planned for ``due_iso`` (None: whichever is planned), if the incident
    still expects it (``windows``: see ``gate``)."""
    with transaction.atomic():
        incident = _lock(incident_id)
        if incident is None or incident.next_escalation_at is None:
            return
        due = incident.next_escalation_at if due_iso is None else datetime.fromisoformat(due_iso)
        writes = StepWrites()
        _step_locked(incident, due, windows, writes)
        writes.flush()


def _step_locked(
    incident: Incident,
    due: datetime,
    windows: maintenance.MaintenanceBook | None,
    writes: StepWrites,
    now: datetime | None = None,
) -> None:
    """The step of a locked incident, run at ``now`` (default: now); what it changes goes to
    ``writes``."""
    if incident.next_escalation_at != due:
        return  # done already, or re-planned since: this copy of the task is stale
    now = now or timezone.now()
    if due > now:
        return  # delivered early (a broker without eta support): the sweep runs it on time
    passage = gate(incident, now, windows)
    if passage.stopped:
        incident.next_escalation_at = None
        writes.save(incident)
        return
    if passage.held_by is not None:
        _hold_until_the_end(incident, passage.held_by, writes)
        return
    _run_level(incident, now, writes)
    writes.save(incident)


@dataclass
class StepWrites:
    """What steps write, at the end of their transaction: the incidents' escalation fields
    (one round trip for all), their timeline entries (one INSERT), and each planned next step
    handed to a task once committed."""

    incidents: list[Incident] = field(default_factory=list)
    entries: list[TimelineEntry] = field(default_factory=list)

    def save(self, incident: Incident) -> None:
        self.incidents.append(incident)

    def note(
        self, incident: Incident, kind: str, message: Phrase, data: dict | None = None
    ) -> None:
        self.entries.append(build(incident, kind, Actor.system(), message, data=data))

    def flush(self) -> None:
        if self.incidents:
            update_rows(Incident, self.incidents, ESCALATION_FIELDS)
            _schedule_runners({i.next_escalation_at for i in self.incidents} - {None})
        if self.entries:
            record_many(self.entries)


def _hold_until_the_end(incident: Incident, window: MaintenanceWindow, writes: StepWrites) -> None:
    """A maintenance window covers the incident (``oncall.noise.maintenance``): its step waits
    for the window's end, planned here like any step, and the timeline says so."""
    incident.next_escalation_at = window.ends_at
    writes.save(incident)
    writes.note(incident, Kind.MAINTENANCE, maintenance.hold_message(window))


def _run_level(incident: Incident, now: datetime, writes: StepWrites) -> None:
    rule = incident.escalation_rule
    levels = levels_of(rule) if rule else []
    if rule is None or incident.escalation_level >= len(levels):
        incident.next_escalation_at = None
        if rule is not None:
            incident.escalation_finished_at = now
            writes.note(incident, Kind.ESCALATION, phrase("escalation.finished", rule=rule.name))
        return
    level = levels[incident.escalation_level]
    report = _notify(incident, rule, level, now)
    writes.note(
        incident,
        Kind.NOTIFIED,
        _describe(incident, report),
        data={
            "level": incident.escalation_level + 1,
            "notified": report.notified,
            "notified_users": report.reached,
            "unreachable": report.unreachable,
        },
    )
    _plan_next(incident, rule, level, len(levels), now)


def _plan_next(
    incident: Incident,
    rule: EscalationRule,
    level: EscalationLevel,
    level_count: int,
    now: datetime,
) -> None:
    """Repeat within the level (every M minutes, up to K times, while time is left), else
    move on after what is left of the level's N minutes; after the last level, start the rule
    again up to L times; past that, one last step records the end."""
    every, repeats = level.repeat_every_minutes, incident.escalation_repeats
    if (
        every
        and repeats < level.repeat_times
        and (repeats + 1) * every < level.escalate_after_minutes
    ):
        incident.escalation_repeats = repeats + 1
        incident.next_escalation_at = now + timedelta(minutes=every)
        return
    left = level.escalate_after_minutes - repeats * (every or 0)
    incident.next_escalation_at = now + timedelta(minutes=max(left, 1))
    incident.escalation_repeats = 0
    incident.escalation_level += 1
    if (
        incident.escalation_level >= level_count
        and incident.escalation_loops < rule.repeat_rule_times
    ):
        incident.escalation_level = 0
        incident.escalation_loops += 1


def _describe(incident: Incident, report: LevelReport) -> Phrase:
    """ "Level 2 (repeat 1), round 2: notified Bob; not reachable: Carol (...)."."""
    repeats, loops = incident.escalation_repeats, incident.escalation_loops
    return phrase(
        "level",
        level=incident.escalation_level + 1,
        repeat=phrase("level.repeat", count=repeats) if repeats else "",
        round=phrase("level.round", count=loops + 1) if loops else "",
        notified=describe_notified(report),
    )


# --- The gate: whether the incident may be notified now ---------------------------------------


@dataclass(frozen=True)
class Gate:
    """What the gate says about an incident now. ``stopped``: its own state stops its
    notifications (``_may_escalate``), so nothing stays planned until a change (a wake, an
    unclaim, flapping that ended) plans again. ``held_by``: a maintenance window covers it,
    so what is due waits for the window's end. Open when neither."""

    stopped: bool = False
    held_by: MaintenanceWindow | None = None

    @property
    def open(self) -> bool:
        return not self.stopped and self.held_by is None


def gate(
    incident: Incident, now: datetime, windows: maintenance.MaintenanceBook | None = None
) -> Gate:
    """The one rule every automatic notification of the incident passes, at the moment it
    would go out: an escalation step (a level, a repeat, a round, a re-notification after a
    wake or an unclaim) and an alert storm's notification again. Its state first, then the
    maintenance windows (one query, asked only when its state lets it notify; none when the
    caller read the running ones moments ago, ``windows``).

    Planning (``plan_start``, ``plan_after_change``) reads the state alone: a step planned
    during maintenance is held when it comes due, and moved to the window's end, rather than
    dropped. What a person does by hand (assigning an incident to someone or to a level,
    paging on opening one) is not gated: they chose to notify now."""
    if not _may_escalate(incident):
        return Gate(stopped=True)
    covering = windows.covering if windows is not None else maintenance.covering
    return Gate(held_by=covering(incident, now))


def _may_escalate(incident: Incident) -> bool:
    """The incident's own state lets it be notified (the first half of ``gate``)."""
    if not incident.is_open or incident.is_snoozed:
        return False
    if incident.flapping_quiet:  # flapping, in a channel that stops notifying then
        return False
    if incident.status != Incident.Status.ACKNOWLEDGED:
        return True
    rule = incident.escalation_rule  # read only for a claimed incident: its rule decides
    return rule is None or rule.stop_when != EscalationRule.StopWhen.CLAIMED


# --- Plumbing --------------------------------------------------------------------------------


def _share_rules(incidents: list[Incident]) -> list[EscalationRule]:
    """Give each incident its rule from its channel's kept rules (as ``_lock`` does), one
    instance per rule for all of them; return those rules."""
    shared: dict[tuple[int, int], EscalationRule | None] = {}
    for incident in incidents:
        rule_id = incident.escalation_rule_id
        if rule_id is None:
            continue
        key = (incident.channel_id, rule_id)
        if key not in shared:
            shared[key] = rule_of(incident.channel, rule_id)
        incident.escalation_rule = shared[key]
    return [rule for rule in shared.values() if rule is not None]


def _lock(incident_id: int) -> Incident | None:
    """The incident, its row locked, with its channel and its rule (and the rule's levels)
    from the channel's kept rules (``oncall.escalation_rules``): one query."""
    # FOR UPDATE of the incident alone: PostgreSQL refuses it on the nullable side of an outer
    # join, and the channel row (for its rules' version) needs no lock: read moments before a
    # rule changed, it is as good as read before the change.
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("channel")
        .filter(pk=incident_id)
        .first()
    )
    if incident is not None:
        _share_rules([incident])
    return incident


ESCALATION_FIELDS = [
    "escalation_level",
    "escalation_repeats",
    "escalation_loops",
    "next_escalation_at",
    "escalation_finished_at",
]


def _save(incident: Incident, *extra: str) -> None:
    incident.save(update_fields=[*extra, *ESCALATION_FIELDS])


def schedule(incident: Incident) -> None:
    """Once the planned step is committed, hand it to a task with its due time as eta. A
    shortcut only, hence ``robust``: if it fails (broker down) or never runs (process killed),
    the sweep hands the step out."""
    due = incident.next_escalation_at
    if due is None:
        return
    incident_id, due_iso = incident.pk, due.isoformat()
    from oncall.tasks import escalation_step

    transaction.on_commit(
        lambda: escalation_step.apply_async((incident_id, due_iso), eta=due), robust=True
    )


def _schedule_runners(dues: set[datetime]) -> None:
    """Once committed, a runner of due steps (``run_due_steps``) at each of these times: the
    steps a batch planned share a few (its incidents ran at one moment), so a burst of new
    incidents makes a task per level's delay, not one per incident. A shortcut only, as
    ``schedule``."""
    from oncall.tasks import escalation_start

    for due in sorted(dues):
        transaction.on_commit(lambda due=due: escalation_start.apply_async(eta=due), robust=True)


def sweep() -> int:
    """Hand out every step overdue by ``SWEEP_GRACE``: its task was lost, or the process that
    committed it died before handing it out."""
    cutoff = timezone.now() - SWEEP_GRACE
    overdue = list(
        Incident.objects.filter(next_escalation_at__lt=cutoff)
        .exclude(status=Incident.Status.CLOSED)
        .order_by("next_escalation_at")
        .values_list("pk", "next_escalation_at")[:SWEEP_BATCH]
    )
    from oncall.tasks import escalation_step

    for incident_id, due in overdue:
        escalation_step.delay(incident_id, due.isoformat())
    if overdue:
        logger.warning("handed out %d overdue escalation step(s)", len(overdue))
    return len(overdue)
