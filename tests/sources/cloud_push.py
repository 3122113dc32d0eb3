"""One full push per cloud-vendor kind (issue 19's Chinese cloud group): firing opens an
incident, the same alert again merges into it, the recovery resolves the alert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory


def assert_round_trip(
    push: Callable[..., Any],
    channel: Any,
    kind: str,
    firing: Any,
    recovered: Any,
    *,
    send: Callable[..., Any] | None = None,
) -> Alert:
    """Push ``firing`` twice and ``recovered`` once to a new source of ``kind``; return the
    alert. ``send(source, payload)`` replaces ``push`` for senders that post forms."""
    source = AlertSourceFactory(channel=channel, kind=kind)
    post = send or push
    first = post(source, firing)
    assert first.status_code == 200, first.content
    incident = Incident.objects.get()
    alert = Alert.objects.get()
    assert (alert.incident_id, alert.status) == (incident.pk, Alert.Status.FIRING)

    assert post(source, firing).status_code == 200
    alert.refresh_from_db()
    assert (Alert.objects.count(), alert.event_count) == (1, 2)

    assert post(source, recovered).status_code == 200
    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED
    return alert
