"""One push of a kind's firing fixture and one of its recovered fixture through the real push
URL: the end-to-end check that a kind's events open an incident and resolve its alert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory


def fire_then_resolve(
    push: Callable[..., Any], channel: Any, kind: str, firing: Any, recovered: Any
) -> Alert:
    """Pushes ``firing`` then ``recovered`` to a new source of ``kind``; returns the one alert,
    after checking that the firing push opened one incident."""
    source = AlertSourceFactory(channel=channel, kind=kind)

    fired = push(source, firing)
    assert fired.status_code == 200, fired.json()
    assert Incident.objects.filter(channel=channel).count() == 1
    assert Alert.objects.get().status == Alert.Status.FIRING

    resolved = push(source, recovered)
    assert resolved.status_code == 200, resolved.json()
    return Alert.objects.get()
