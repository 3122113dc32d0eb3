"""Clicks at the same moment (two people, a double click, a retried request) make one call:
the database holds one run in flight per action and incident. On PostgreSQL: SQLite's shared
in-memory test database answers simultaneous writers from threads with "table is locked"."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from oncall import offers
from oncall.models import ActionSource, CustomActionRun, TimelineEntry
from oncall.offers import ActionResult
from oncall.timeline import Actor
from tests.custom_actions.conftest import make_action
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLICKS = 4
URL = "http://127.0.0.1:9/"


def test_simultaneous_clicks_call_once(channel, receiver):
    receiver.delay = 0.5
    people = [UserFactory(username=f"p{n}", first_name=f"P{n}") for n in range(CLICKS)]
    channel.members.add(*people)
    incident = IncidentFactory(channel=channel)
    action = make_action(channel, receiver)
    barrier = threading.Barrier(CLICKS)
    results: list[ActionResult] = []
    errors: list[BaseException] = []

    def press(person) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(offers.run_action(incident, action.key, Actor(person, ActionSource.API)))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == CLICKS
    assert len(receiver.calls) == 1
    assert CustomActionRun.objects.count() == 1
    entries = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.ACTION_CALLED)
    assert entries.count() == 1
    assert sum("already running" in r.message or "just called" in r.message for r in results) == 3


def test_actions_added_at_once_to_a_full_channel_make_five(channel):
    """Four actions, then three added through the API at the same moment: the channels' row
    locks make them count each other, so one is added and two get a 400 with the reason."""
    from rest_framework.test import APIClient

    from oncall.models import CustomAction

    for n in range(4):
        CustomAction.objects.create(name=f"A{n}", url=URL).channels.add(channel)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    barrier = threading.Barrier(3)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def add(name: str) -> None:
        try:
            api = APIClient()
            api.force_authenticate(admin)
            body = {"name": name, "url": URL, "channels": [str(channel.public_id)]}
            barrier.wait(timeout=10)
            statuses.append(api.post("/api/v1/incident-actions/", body, format="json").status_code)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(f"New {n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(statuses) == [201, 400, 400]
    assert channel.custom_actions.count() == 5
