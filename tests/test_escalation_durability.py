"""Escalation survives a process killed right after the commit: a new incident, a reopen, an
unclaim and a wake plan their step in the change's own transaction, and the sweep hands it out
although every post-commit callback of the change (the step run inline, the task it would have
queued, the announcements) was lost.

Unlike tests/test_escalation.py these run inside a transaction that is never committed, so that
``django_capture_on_commit_callbacks(execute=False)`` drops a change's post-commit callbacks as a
killed process would; the changes that set the scene run theirs. Time passes by moving the
planned step into the past, the way a clock would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import lifecycle, tasks
from oncall.escalation import SWEEP_GRACE
from oncall.models import EscalationLevel, EscalationRule, InboundEvent, Incident
from oncall.timeline import Actor
from tests import payloads
from tests.factories import AlertSourceFactory, UserFactory
from tests.stub_platform.platform import NOTIFIED_LEVELS as notified_levels

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_platform")]


@pytest.fixture
def rule(channel):
    """Level 1, then level 2 after 10 minutes."""
    channel.escalation_rules.all().delete()
    rule = EscalationRule.objects.create(channel=channel, name="Primary", position=0)
    for position in (1, 2):
        EscalationLevel.objects.create(
            rule=rule, position=position, notify_channel_members=True, escalate_after_minutes=10
        )
    return rule


@pytest.fixture
def alice(channel):
    user = UserFactory(username="alice", first_name="Alice")
    channel.members.add(user)
    return Actor(user, "web")


@pytest.fixture
def source(rule, channel):
    return AlertSourceFactory(channel=channel)


@pytest.fixture
def incident(source, push):
    """Opened by ingestion, its level 1 notified: a process that lived on ran its callbacks."""
    push(source, payloads.alertmanager(payloads.am_alert("DiskFull")))
    incident = Incident.objects.get(channel=source.channel)
    assert notified_levels == [(incident.pk, 1)]
    notified_levels.clear()
    return incident


@pytest.fixture
def sweep_period_passes(monkeypatch):
    """The planned time and the sweep's grace pass; the sweep runs, and so does every step it
    hands out (its task called directly). Returns what the sweep handed out."""

    def _passes(incident: Incident) -> list[tuple[int, str]]:
        planned = planned_step(incident)
        assert planned is not None, "no step is planned: the sweep can never hand one out"
        moved = planned - SWEEP_GRACE - timedelta(seconds=1)
        Incident.objects.filter(pk=incident.pk).update(next_escalation_at=moved)
        handed_out = []
        monkeypatch.setattr(tasks.escalation_step, "delay", lambda *args: handed_out.append(args))
        tasks.sweep_escalations()
        for args in handed_out:
            tasks.escalation_step(*args)
        return handed_out

    return _passes


def planned_step(incident: Incident):
    incident.refresh_from_db()
    return incident.next_escalation_at


def test_it_notifies_level_1_of_a_new_incident_whose_worker_died_after_the_commit(
    source, push, django_capture_on_commit_callbacks, sweep_period_passes
):
    push(source, payloads.alertmanager(payloads.am_alert("DiskFull")), process=False)
    inbound = InboundEvent.objects.get(source=source)
    with django_capture_on_commit_callbacks(execute=False) as lost:
        tasks.process_inbound_event(inbound.pk)
    assert lost  # the inline step and the announcements, never run

    incident = Incident.objects.get(channel=source.channel)
    assert notified_levels == []
    planned = planned_step(incident)
    assert planned is not None  # level 1 is planned in the database, due now
    assert planned <= timezone.now()
    assert tasks.sweep_escalations() == 0  # not overdue yet: the grace lets the worker do it
    assert [pk for pk, _ in sweep_period_passes(incident)] == [incident.pk]
    assert notified_levels == [(incident.pk, 1)]
    assert planned_step(incident) > timezone.now()  # and level 2 is planned


@pytest.mark.parametrize(
    ("stop", "resume"),
    [(lifecycle.close, lifecycle.reopen), (lifecycle.claim, lifecycle.unclaim)],
    ids=["reopen", "unclaim"],
)
def test_a_reopen_or_unclaim_whose_process_died_after_the_commit_still_notifies_level_1(
    stop, resume, incident, alice, django_capture_on_commit_callbacks, sweep_period_passes
):
    with django_capture_on_commit_callbacks(execute=True):
        stop(incident, alice)
    assert planned_step(incident) is None

    with django_capture_on_commit_callbacks(execute=False) as lost:
        resume(incident, alice)
    assert lost

    assert planned_step(incident) is not None
    assert notified_levels == []
    assert [pk for pk, _ in sweep_period_passes(incident)] == [incident.pk]
    assert notified_levels == [(incident.pk, 1)]


def test_a_wake_whose_process_died_after_the_commit_still_notifies_again(
    incident, alice, django_capture_on_commit_callbacks, sweep_period_passes
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.snooze(incident, alice, timedelta(minutes=30))
    assert planned_step(incident) is None
    ended = timezone.now() - timedelta(seconds=1)  # the snooze is over
    Incident.objects.filter(pk=incident.pk).update(snoozed_until=ended)

    with django_capture_on_commit_callbacks(execute=False) as lost:
        assert tasks.sweep_snoozed_incidents() == 1  # the wake-up sweep wakes it
    assert lost

    incident.refresh_from_db()
    assert incident.snoozed_until is None
    assert planned_step(incident) is not None
    assert notified_levels == []
    assert [pk for pk, _ in sweep_period_passes(incident)] == [incident.pk]
    assert notified_levels == [(incident.pk, 1)]
