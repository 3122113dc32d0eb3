"""Real concurrency on PostgreSQL: simultaneous events of one change make one change."""

from __future__ import annotations

import pytest
from django.db import connection

from oncall import changes
from oncall.models import ChangeEvent
from oncall.sources import source_kind
from tests.concurrency import race
from tests.factories import AlertSourceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 10


def event(key: str, status: str, at: int) -> dict:
    return {"change_key": key, "change_status": status, "title": key, "event_time": at}


def test_simultaneous_first_events_of_one_key_make_one_change_counting_both(channel):
    assert connection.vendor == "postgresql"
    source = AlertSourceFactory(kind="change_custom", channel=channel)
    kind = source_kind("change_custom")
    for round_ in range(ROUNDS):
        key = f"DEPLOY-{round_}"
        first, second = event(key, "Processing", 1_764_000_000), event(key, "Done", 1_764_000_600)
        results = race(
            lambda first=first: changes.accept(source, kind, first, body_bytes=1),
            lambda second=second: changes.accept(source, kind, second, body_bytes=1),
        )

        assert not [r for r in results if isinstance(r, Exception)], results
        change = ChangeEvent.objects.get(change_key=key)
        assert change.event_count == 2
        assert change.status == "done"  # the later event wins whichever committed first
