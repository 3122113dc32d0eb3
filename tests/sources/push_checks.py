"""End-to-end checks shared by the source tests: one push of a kind's own fixtures through the
test client into an incident, and a push of another kind's payload refused with the hint.

``push`` is the fixture of ``tests/conftest.py`` (it runs what a push enqueued inline)."""

from __future__ import annotations

from typing import Any

from oncall.models import Alert, InboundEvent, Incident


def assert_fires_then_resolves(push: Any, source: Any, firing: Any, recovered: Any) -> Alert:
    """``firing`` opens one incident with one firing alert; ``recovered`` resolves that alert."""
    assert push(source, firing).status_code == 200
    incident = Incident.objects.get()
    alert = Alert.objects.get()
    assert (alert.incident_id, alert.status) == (incident.pk, Alert.Status.FIRING)

    assert push(source, recovered).status_code == 200
    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED
    return alert


def assert_repeats_merge(push: Any, source: Any, firing: Any, again: Any) -> Alert:
    """For senders without a recovery: both pushes land on one firing alert of one incident."""
    assert push(source, firing).status_code == 200
    assert push(source, again).status_code == 200
    alert = Alert.objects.get()
    assert (alert.status, alert.event_count) == (Alert.Status.FIRING, 2)
    assert Incident.objects.count() == 1
    return alert


def assert_refused_with_hint(push: Any, source: Any, payload: Any, hint: str) -> dict[str, Any]:
    """A payload of another kind: 400, nothing stored, the message ending with ``hint``."""
    response = push(source, payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].endswith(hint), error["message"]
    assert not InboundEvent.objects.exists()
    return error
