"""Sweeps and timers: nothing a lost task left undone stays undone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from oncall import lifecycle, tasks
from oncall.models import ActionSource, Alert, InboundEvent, Incident, TimelineEntry
from oncall.timeline import Actor
from tests import payloads
from tests.factories import AlertSourceFactory, IncidentFactory


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


def test_the_sweep_processes_a_push_whose_task_was_lost(push, source, settings):
    push(source, payloads.alertmanager(payloads.am_alert()), process=False)  # task never ran
    assert tasks.sweep_inbound_events() == 0  # too recent: its task may still be on the way

    InboundEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))
    assert tasks.sweep_inbound_events() == 1  # eager in tests: the re-queued task runs now

    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED
    assert Alert.objects.get().incident.status == Incident.Status.TRIGGERED


def test_the_sweep_leaves_processed_and_failed_pushes_alone(push, source):
    push(source, payloads.alertmanager(payloads.am_alert()))
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))
    InboundEvent.objects.create(
        source=source,
        received_at=timezone.now() - timedelta(hours=1),
        status=InboundEvent.Status.FAILED,
    )
    assert tasks.sweep_inbound_events() == 0


def test_the_wake_task_ends_the_snooze_it_was_planned_for(channel, responder):
    incident = IncidentFactory(channel=channel)
    lifecycle.snooze(incident, Actor(responder, ActionSource.WEB), timedelta(minutes=5))
    incident.refresh_from_db()
    until = incident.snoozed_until

    tasks.wake_incident(incident.pk, until.isoformat())  # delivered early: does nothing
    incident.refresh_from_db()
    assert incident.snoozed_until == until

    Incident.objects.filter(pk=incident.pk).update(snoozed_until=timezone.now())
    incident.refresh_from_db()
    tasks.wake_incident(incident.pk, incident.snoozed_until.isoformat())
    incident.refresh_from_db()
    assert incident.snoozed_until is None
    woken = incident.timeline.get(kind=TimelineEntry.Kind.WOKEN)
    assert (woken.message, woken.source) == ("Snooze ended", "system")


def test_the_snooze_sweep_wakes_what_a_lost_timer_missed(channel, responder):
    due, later = IncidentFactory(channel=channel), IncidentFactory(channel=channel)
    Incident.objects.filter(pk=due.pk).update(snoozed_until=timezone.now() - timedelta(seconds=5))
    Incident.objects.filter(pk=later.pk).update(snoozed_until=timezone.now() + timedelta(hours=1))

    assert tasks.sweep_snoozed_incidents() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.snoozed_until is None
    assert later.snoozed_until is not None


def test_snoozing_plans_a_wake_up_after_commit(
    channel, responder, django_capture_on_commit_callbacks, monkeypatch
):
    planned = []
    monkeypatch.setattr(
        tasks.wake_incident, "apply_async", lambda args, eta: planned.append((args, eta))
    )
    incident = IncidentFactory(channel=channel)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.snooze(incident, Actor(responder, ActionSource.WEB), timedelta(minutes=30))
    incident.refresh_from_db()
    assert planned == [((incident.pk, incident.snoozed_until.isoformat()), incident.snoozed_until)]


def test_old_handled_pushes_are_purged_but_pending_ones_kept(source, settings):
    settings.INBOUND_EVENT_RETENTION_DAYS = 7
    old = timezone.now() - timedelta(days=8)
    for status in (InboundEvent.Status.PROCESSED, InboundEvent.Status.PENDING):
        InboundEvent.objects.create(source=source, received_at=old, status=status)
    InboundEvent.objects.create(
        source=source, received_at=timezone.now(), status=InboundEvent.Status.PROCESSED
    )
    assert tasks.purge_inbound_events() == 1
    assert InboundEvent.objects.count() == 2


def test_every_periodic_task_names_a_registered_task():
    from oncall.celery import app

    app.loader.import_default_modules()
    names = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "integrations.feishu.tasks.resend_stalled_cards" in names
    assert names <= set(app.tasks)


def test_a_process_without_django_set_up_reads_the_whole_beat_schedule():
    """As ``celery -A oncall beat`` and ``worker -B`` do: Celery reads its configuration
    before its Django fix-up sets Django up."""
    code = "from oncall.celery import app; print(sorted(app.conf.beat_schedule))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    printed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "replan-lost-escalation-steps" in printed
    assert "resend-lost-feishu-cards" in printed
