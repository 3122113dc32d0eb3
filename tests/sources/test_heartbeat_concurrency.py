"""Heartbeats under real concurrency (PostgreSQL): the row lock on a heartbeat makes two sweeps
open one incident, and a ping racing the sweep never leaves a heartbeat missing after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations.sources.heartbeat import monitor
from integrations.sources.heartbeat.models import Heartbeat
from oncall.models import InboundEvent, Incident
from tests.concurrency import race
from tests.factories import AlertSourceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 8
OPTIONS = {"interval_minutes": 30, "grace_minutes": 5}


def silent_heartbeat(channel, name: str):
    source = AlertSourceFactory(channel=channel, kind="heartbeat", name=name, options=OPTIONS)
    monitor.record_ping(source, timezone.now() - timedelta(hours=1))
    return source


def test_two_simultaneous_sweeps_open_one_incident(channel):
    assert connection.vendor == "postgresql"
    for round_ in range(ROUNDS):
        source = silent_heartbeat(channel, f"job-{round_}")

        opened = race(monitor.sweep, monitor.sweep)

        assert sorted(opened) == [0, 1]
        assert InboundEvent.objects.filter(source=source).count() == 1
        assert Incident.objects.filter(alerts__source=source).count() == 1


def test_a_ping_racing_the_sweep_leaves_the_heartbeat_up(channel):
    for round_ in range(ROUNDS):
        source = silent_heartbeat(channel, f"job-{round_}")

        race(monitor.sweep, lambda source=source: monitor.record_ping(source))

        assert Heartbeat.objects.get(source=source).missing_since is None
        # Either the ping came first (nothing opened) or it recovered what the sweep opened.
        assert not Incident.objects.filter(alerts__source=source).exclude(status="closed")
