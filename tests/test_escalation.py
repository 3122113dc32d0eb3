"""The escalation engine: levels, repeats, rule loops, stops and resumes, lost and doubled steps.

Notifications go to a recording notifier named in settings (the real one, Feishu's, is tested
against the sandbox). Time passes by moving the planned step into the past, the way a clock
would, and running it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oncall import escalation, lifecycle
from oncall.models import EscalationLevel, EscalationRule, Incident, TimelineEntry
from oncall.timeline import Actor
from tests import payloads
from tests.factories import AlertSourceFactory, UserFactory
from tests.stub_platform.platform import NOTIFIED_LEVELS as notified_levels

# Real commits: the steps a change plans are handed out after commit.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("recording_platform"),
]


@pytest.fixture
def alice(channel):
    user = UserFactory(username="alice", first_name="Alice")
    channel.members.add(user)
    return user


@pytest.fixture
def rule(channel):
    """Two levels: 1 → after 10 min, repeating every 3 min twice; 2 → after 5 min."""
    channel.escalation_rules.all().delete()
    rule = EscalationRule.objects.create(channel=channel, name="Primary", position=0)
    EscalationLevel.objects.create(
        rule=rule,
        position=1,
        notify_channel_members=True,
        escalate_after_minutes=10,
        repeat_every_minutes=3,
        repeat_times=2,
    )
    EscalationLevel.objects.create(
        rule=rule, position=2, notify_channel_members=True, escalate_after_minutes=5
    )
    return rule


@pytest.fixture
def incident(rule, push, channel):
    source = AlertSourceFactory(channel=channel)
    push(source, payloads.alertmanager(payloads.am_alert("DiskFull")))
    return Incident.objects.get(channel=channel)


def state(incident) -> tuple[int, int, int]:
    incident.refresh_from_db()
    return incident.escalation_level, incident.escalation_repeats, incident.escalation_loops


def minutes_to_next(incident) -> float:
    incident.refresh_from_db()
    return round((incident.next_escalation_at - timezone.now()).total_seconds() / 60, 1)


def run_due_step(incident) -> None:
    """The planned time has come: move it into the past and run the step."""
    due = timezone.now() - timedelta(seconds=1)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=due)
    escalation.step(incident.pk, due.isoformat())


def test_a_new_incident_notifies_level_1_at_once(incident):
    assert notified_levels == [(incident.pk, 1)]
    assert state(incident) == (0, 1, 0)
    assert minutes_to_next(incident) == 3.0  # the first repeat
    entry = incident.timeline.get(kind=TimelineEntry.Kind.NOTIFIED)
    assert entry.message == "Level 1: notified level 1 people."


def test_a_new_incident_is_notified_by_the_ingesting_worker_itself_not_by_a_step_task(
    rule, push, channel, monkeypatch
):
    from oncall import tasks

    planned = []
    send = tasks.escalation_start.apply_async

    def timed_or_sent(*args, eta=None, **options):  # a runner at a time is planned, not run
        return planned.append(eta) if eta else send(*args, **options)

    monkeypatch.setattr(tasks.escalation_start, "apply_async", timed_or_sent)
    push(AlertSourceFactory(channel=channel), payloads.alertmanager(payloads.am_alert("Disk")))
    incident = Incident.objects.get(channel=channel)
    assert notified_levels == [(incident.pk, 1)]
    assert planned == [incident.next_escalation_at]  # only the first repeat, 3 min later
    assert minutes_to_next(incident) == 3.0


def test_a_reopen_starts_level_1_in_a_cards_task(incident, alice, monkeypatch):
    lifecycle.close(incident, Actor(alice, "web"))
    from oncall import tasks

    rung = []
    monkeypatch.setattr(tasks.escalation_start, "delay", lambda *args: rung.append(args))
    notified_levels.clear()
    lifecycle.reopen(incident, Actor(alice, "web"))
    assert notified_levels == []  # the person reopening does not wait for the notifying
    assert rung == [()]
    tasks.escalation_start()
    assert notified_levels == [(incident.pk, 1)]


def test_a_claim_and_its_replan_are_one_update_of_the_incident(incident, alice):
    with CaptureQueriesContext(connection) as queries:
        lifecycle.claim(incident, Actor(alice, "web"))

    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "oncall_incident"')]
    assert len(updates) == 1
    assert '"next_escalation_at"' in updates[0]
    assert '"status"' in updates[0]
    incident.refresh_from_db()
    assert incident.next_escalation_at is None  # claimed: escalation stops


def test_repeats_then_the_next_level_then_the_end(incident):
    run_due_step(incident)  # repeat 1, 3 min later
    run_due_step(incident)  # repeat 2, 6 min in
    assert minutes_to_next(incident) == 4.0  # what is left of level 1's 10 minutes
    run_due_step(incident)  # level 2
    assert notified_levels == [(incident.pk, 1)] * 3 + [(incident.pk, 2)]
    assert minutes_to_next(incident) == 5.0
    run_due_step(incident)  # past the last level
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    assert incident.timeline.filter(message__startswith="Escalation finished").count() == 1
    assert len(notified_levels) == 4


def test_the_rule_runs_again_up_to_its_repeat_count(incident, rule):
    rule.repeat_rule_times = 1
    rule.save()
    for _ in range(4):
        run_due_step(incident)
    assert [level for _, level in notified_levels] == [1, 1, 1, 2, 1]
    assert state(incident)[2] == 1
    assert "round 2" in incident.timeline.filter(kind="notified").last().message


def test_a_claim_stops_it_and_an_unclaim_resumes_the_current_level(incident, alice):
    run_due_step(incident)
    lifecycle.claim(incident, Actor(alice, "api"))
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    lifecycle.unclaim(incident, Actor(alice, "api"))
    incident.refresh_from_db()
    assert incident.next_escalation_at is not None
    run_due_step(incident)
    assert notified_levels[-1] == (incident.pk, 1)


def test_a_rule_may_keep_escalating_a_claimed_incident_until_it_is_closed(incident, rule, alice):
    rule.stop_when = EscalationRule.StopWhen.CLOSED
    rule.save()
    lifecycle.claim(incident, Actor(alice, "api"))
    run_due_step(incident)
    assert len(notified_levels) == 2
    lifecycle.close(incident, Actor(alice, "api"))
    incident.refresh_from_db()
    assert incident.next_escalation_at is None


def test_snooze_pauses_and_wake_notifies_the_current_level_again(incident, alice):
    run_due_step(incident)
    run_due_step(incident)
    run_due_step(incident)  # now at level 2
    lifecycle.snooze(incident, Actor(alice, "api"), timedelta(hours=1))
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    lifecycle.wake(incident, Actor(alice, "api"))
    run_due_step(incident)
    assert notified_levels[-1] == (incident.pk, 2)


def test_a_claim_that_ends_a_snooze_resumes_a_rule_that_stops_only_when_closed(
    incident, rule, alice
):
    rule.stop_when = EscalationRule.StopWhen.CLOSED
    rule.save()
    lifecycle.snooze(incident, Actor(alice, "api"), timedelta(hours=1))
    incident.refresh_from_db()
    assert incident.next_escalation_at is None

    lifecycle.claim(incident, Actor(alice, "api"))  # ends the snooze; the rule goes on

    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.next_escalation_at is not None
    run_due_step(incident)
    assert notified_levels[-1] == (incident.pk, 1)


def test_an_unclaim_after_a_rule_looped_notifies_the_last_level_again_not_the_first(
    incident, rule, alice
):
    rule.repeat_rule_times = 1
    rule.save()
    for _ in range(3):
        run_due_step(incident)  # two repeats of level 1, then level 2; the plan loops back
    assert notified_levels[-1] == (incident.pk, 2)
    assert state(incident) == (0, 0, 1)

    lifecycle.claim(incident, Actor(alice, "api"))
    notified = len(notified_levels)
    lifecycle.unclaim(incident, Actor(alice, "api"))  # its step is due now (tasks run eagerly)

    assert notified_levels[notified:] == [(incident.pk, 2)]
    run_due_step(incident)  # then the second round begins
    assert notified_levels[-1] == (incident.pk, 1)
    assert state(incident)[2] == 1


def test_a_finished_escalation_stays_finished_after_a_claim(incident, rule, alice):
    rule.stop_when = EscalationRule.StopWhen.CLOSED
    rule.save()
    for _ in range(5):
        run_due_step(incident)  # level 1 three times, level 2, then the end
    incident.refresh_from_db()
    assert incident.escalation_finished_at is not None
    notified = len(notified_levels)

    lifecycle.claim(incident, Actor(alice, "api"))

    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    assert len(notified_levels) == notified


def test_a_change_that_leaves_the_plan_as_it_is_reads_the_incident_once(incident, alice):
    actor = Actor(alice, "api")
    lifecycle.snooze(incident, actor, timedelta(hours=1))  # the plan is cleared
    with CaptureQueriesContext(connection) as queries:
        lifecycle.snooze(incident, actor, timedelta(hours=2))  # still nothing to plan

    reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "oncall_incident"')]
    assert len(reads) == 1  # the lifecycle's own, under its lock: the re-plan had nothing to do
    incident.refresh_from_db()
    assert incident.next_escalation_at is None


def test_reopen_starts_again_from_level_1(incident, alice):
    run_due_step(incident)
    run_due_step(incident)
    run_due_step(incident)
    lifecycle.close(incident, Actor(alice, "api"))
    lifecycle.reopen(incident, Actor(alice, "api"))
    assert notified_levels[-1] == (incident.pk, 1)
    assert state(incident) == (0, 1, 0)


def test_a_step_delivered_twice_notifies_once(incident):
    due = timezone.now() - timedelta(seconds=1)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=due)
    escalation.step(incident.pk, due.isoformat())
    escalation.step(incident.pk, due.isoformat())
    assert len(notified_levels) == 2  # the first notification, and this step once


def test_a_step_delivered_early_waits_for_its_time(incident):
    incident.refresh_from_db()
    escalation.step(incident.pk, incident.next_escalation_at.isoformat())
    assert len(notified_levels) == 1


def test_the_sweep_hands_out_lost_steps_again(incident, django_capture_on_commit_callbacks):
    overdue = timezone.now() - timedelta(minutes=5)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=overdue)
    assert escalation.sweep() == 1  # eager in tests: the step runs at once
    assert notified_levels[-1] == (incident.pk, 1)
    assert escalation.sweep() == 0  # re-planned three minutes ahead


def test_no_matching_rule_is_said_on_the_timeline(channel, push):
    channel.escalation_rules.all().delete()
    push(AlertSourceFactory(channel=channel), payloads.alertmanager(payloads.am_alert("X")))
    incident = Incident.objects.get(channel=channel)
    assert notified_levels == []
    assert incident.timeline.filter(kind="escalation", message__startswith="No escalation").exists()


def test_a_new_channel_escalates_with_its_default_rule(channel, push, alice):
    push(AlertSourceFactory(channel=channel), payloads.alertmanager(payloads.am_alert("Y")))
    incident = Incident.objects.get(channel=channel)
    assert notified_levels == [(incident.pk, 0)]  # the default rule's only level
    assert minutes_to_next(incident) == 30.0
