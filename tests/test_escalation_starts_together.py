"""Due steps run together (``escalation.run_due_steps``): one transaction locks the free rows
at once and writes their timeline entries and escalation fields in one go; an incident another
transaction holds is not waited for by the others, and is rung for again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oncall import escalation
from oncall.models import Incident, TimelineEntry
from tests.factories import IncidentFactory, UserFactory
from tests.stub_platform.platform import NOTIFIED_LEVELS as notified_levels

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("recording_platform"),
]


@pytest.fixture
def due_incidents(channel):
    """Three incidents whose level 1 (the channel's default rule: its members) is due."""
    channel.members.add(UserFactory(username="alice"))
    due = timezone.now() - timedelta(seconds=1)
    incidents = [IncidentFactory(channel=channel, title=f"Disk {n}") for n in range(3)]
    for incident in incidents:
        escalation.start_plan(incident, escalation.rule_for(incident, due), due)
        escalation.save_plan(incident)
    notified_levels.clear()
    return incidents


def notified_incidents() -> set[int]:
    return {incident_id for incident_id, _level in notified_levels}


def notified_entries(incident) -> int:
    return incident.timeline.filter(kind=TimelineEntry.Kind.NOTIFIED).count()


def test_due_steps_write_their_entries_and_plans_in_one_go(due_incidents):
    with CaptureQueriesContext(connection) as queries:
        escalation.run_due_steps()

    assert notified_incidents() == {i.pk for i in due_incidents}
    for incident in due_incidents:
        assert notified_entries(incident) == 1
        incident.refresh_from_db()
        assert incident.escalation_level == 1  # planned on: level 2 or the end
    sql = [q["sql"] for q in queries]
    assert sum(s.startswith('INSERT INTO "oncall_timelineentry"') for s in sql) == 1
    # one executemany for the three (Django logs it as "3 times: UPDATE ...")
    assert [s.split(": ", 1)[0] for s in sql if 'UPDATE "oncall_incident"' in s] == ["3 times"]
    # whom the shared level reaches is asked once for the three (``oncall.batch_answers``)
    assert sum(s.startswith('SELECT DISTINCT "auth_user"') for s in sql) == 1


def test_a_level_answers_again_outside_a_batch(due_incidents):
    """An instance no batch marked asks every time: it may outlive a change."""
    incident = Incident.objects.select_related("channel").get(pk=due_incidents[0].pk)
    level = escalation.levels_of(escalation.rule_of(incident.channel, incident.escalation_rule_id))[
        0
    ]
    with CaptureQueriesContext(connection) as queries:
        escalation._notify(incident, incident.escalation_rule, level, timezone.now())
        escalation._notify(incident, incident.escalation_rule, level, timezone.now())
    assert sum(q["sql"].startswith('SELECT DISTINCT "auth_user"') for q in queries) == 2


def test_a_step_run_twice_notifies_once(due_incidents):
    escalation.run_due_steps()
    escalation.run_due_steps()  # a retried task: nothing is due any more
    for incident in due_incidents:  # a step task of its own, too late: stale
        escalation.step(incident.pk, incident.next_escalation_at.isoformat())

    assert len(notified_levels) == 3
    assert [notified_entries(i) for i in due_incidents] == [1, 1, 1]


@contextmanager
def row_held_elsewhere(incident) -> Iterator[None]:
    """The incident's row locked by another connection's transaction while the block runs."""
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Incident.objects.select_for_update().get(pk=incident.pk)
                locked.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        holder.join(timeout=20)


# --- The runner of due steps (``escalation.run_due_steps``) ---------------------------------------


def test_the_runner_takes_every_due_step_in_batches(due_incidents, monkeypatch):
    monkeypatch.setattr(escalation, "RUNNER_BATCH", 2)
    with CaptureQueriesContext(connection) as queries:
        escalation.run_due_steps()

    assert notified_incidents() == {i.pk for i in due_incidents}
    assert [notified_entries(i) for i in due_incidents] == [1, 1, 1]
    sql = [q["sql"] for q in queries]
    assert sum(s.startswith('INSERT INTO "oncall_timelineentry"') for s in sql) == 2  # 2 + 1
    assert escalation.run_due_steps() == 0  # nothing is due any more


def test_a_step_failing_in_the_runner_does_not_hold_up_the_others(due_incidents, monkeypatch):
    from tests.stub_platform import platform as stub

    failing = due_incidents[1]
    real_notify = stub.RecordingPlatform.notify

    def notify(self, incident, rule, level, people):
        if incident.pk == failing.pk:
            raise RuntimeError("a bug in a platform")
        return real_notify(self, incident, rule, level, people)

    monkeypatch.setattr(stub.RecordingPlatform, "notify", notify)
    escalation.run_due_steps()

    assert [notified_entries(i) for i in due_incidents] == [1, 0, 1]
    failing.refresh_from_db()
    assert failing.next_escalation_at is not None  # still due: the sweep tries it again


def test_a_step_due_long_ago_is_left_to_the_sweep(due_incidents):
    old = timezone.now() - escalation.RUNNER_WINDOW - timedelta(minutes=1)
    Incident.objects.filter(pk=due_incidents[0].pk).update(next_escalation_at=old)

    assert escalation.run_due_steps() == 2
    assert notified_entries(due_incidents[0]) == 0


@pytest.mark.postgres
def test_the_runner_skips_a_row_held_elsewhere_and_rings_again_for_it(due_incidents, monkeypatch):
    from oncall import tasks

    held = due_incidents[1]
    again = []
    monkeypatch.setattr(tasks.escalation_start, "apply_async", lambda **kw: again.append(kw))
    with row_held_elsewhere(held):
        assert escalation.run_due_steps() == 2  # not waiting for the held one

    assert notified_entries(held) == 0
    # rung again in a moment (beside the timed runner of the steps it planned next)
    assert [kw for kw in again if "eta" not in kw] == [
        {"countdown": escalation.RUNNER_AGAIN_SECONDS}
    ]
    escalation.run_due_steps()  # the runner rung again
    assert notified_entries(held) == 1


def test_the_steps_a_batch_plans_share_one_timed_runner(due_incidents, monkeypatch):
    from oncall import tasks

    timed = []
    monkeypatch.setattr(tasks.escalation_start, "apply_async", lambda **kw: timed.append(kw))
    escalation.run_due_steps()

    planned = {Incident.objects.get(pk=i.pk).next_escalation_at for i in due_incidents}
    assert len(planned) == 1  # level 1 of the three ran at one moment: the same next step
    assert timed == [{"eta": planned.pop()}]
