"""On PostgreSQL: the sweep that releases a kept alert once its silence ended, racing a new
event of that alert, opens exactly one incident, with the alert in it once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import ingest
from oncall.models import Alert, InboundEvent, Incident, Silence, SilenceHold
from oncall.noise.silences import release_due
from tests.concurrency import race
from tests.noise.pushes import standard_source

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def source(channel):
    """A standard-protocol source (this module pushes with ``emit``)."""
    return standard_source(channel)


ROUNDS = 6


def test_a_release_racing_a_new_event_opens_one_incident(channel, source, push, monkeypatch):
    monkeypatch.setattr(ingest, "_enqueue", lambda inbound_id: None)  # processed here, racing
    for round_ in range(ROUNDS):
        key = f"racing-{round_}"
        silence = Silence.objects.create(
            channel=channel,
            name=key,
            starts_at=timezone.now() - timedelta(minutes=1),
            ends_at=timezone.now() + timedelta(minutes=10),
            condition=[{"key": "alert_key", "op": "eq", "value": key}],
        )
        body = {"title_rule": key, "event_status": "Critical", "alert_key": key}
        push(source, body, process=False)
        ingest.process(InboundEvent.objects.order_by("-pk").first().pk)
        assert Alert.objects.get(alert_key=key).suppressed == Alert.Suppression.SILENCED
        silence.ends_at = timezone.now()
        silence.save()  # its holds come due
        push(source, body, process=False)
        event = InboundEvent.objects.order_by("-pk").first().pk

        results = race(
            lambda e=event: ingest.process(e),
            lambda: release_due(timezone.now() + timedelta(seconds=1)),
        )

        assert not any(isinstance(r, Exception) for r in results), results
        alert = Alert.objects.get(alert_key=key)
        assert alert.suppressed is None
        assert alert.event_count == 2
        assert Incident.objects.filter(alerts__alert_key=key).count() == 1
        assert Incident.objects.get(alerts__alert_key=key).alert_count == 1
        assert not SilenceHold.objects.filter(alert=alert).exists()
