"""Flapping: an alert key triggering and recovering more than N times in M minutes marks its
incident; per channel: off, mark only, or mark and stop notifying after the first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import escalation
from oncall.models import Channel, FlapState, Incident, TimelineEntry
from oncall.notify.context import incident_context
from oncall.tasks import purge_flap_states, settle_flapping
from tests.payloads import am_alert
from tests.stub_platform.platform import NOTIFIED_LEVELS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_platform")]
Kind = TimelineEntry.Kind


def watch(channel, mode: str, times: int = 2, minutes: int = 60) -> None:
    channel.flapping, channel.flapping_times, channel.flapping_minutes = mode, times, minutes
    channel.full_clean()
    channel.save()


def flap(fire, cycles: int) -> None:
    """Trigger and recover ``cycles`` times, then trigger once more."""
    for _ in range(cycles):
        fire(am_alert("Flappy"))
        fire(am_alert("Flappy", status="resolved"))
    fire(am_alert("Flappy"))


def latest() -> Incident:
    return Incident.objects.order_by("-pk").first()


def test_more_triggers_than_the_threshold_mark_the_incident(fire, channel):
    watch(channel, Channel.Flapping.MARK, times=2)
    flap(fire, 2)  # three triggers in the window: more than two
    incident = latest()
    assert incident.is_flapping
    assert not incident.flapping_quiet
    entry = incident.timeline.get(kind=Kind.FLAPPING)
    assert entry.message == "Flapping: “Flappy on db-1:9100” triggered 3 times within 60 minutes."
    assert (incident.pk, 0) in NOTIFIED_LEVELS  # mark only: notified as usual


def test_exactly_the_threshold_is_not_flapping(fire, channel):
    watch(channel, Channel.Flapping.MARK, times=2)
    flap(fire, 1)  # two triggers
    assert not Incident.objects.filter(flapping_since__isnull=False).exists()


def test_off_marks_nothing_and_keeps_no_state(fire, channel):
    flap(fire, 4)
    assert not Incident.objects.filter(flapping_since__isnull=False).exists()
    assert not FlapState.objects.exists()


def test_quiet_stops_notifying_after_the_first(fire, channel):
    watch(channel, Channel.Flapping.QUIET, times=2)
    flap(fire, 2)
    incidents = list(Incident.objects.order_by("pk"))
    assert len(incidents) == 3  # auto close: every trigger opened one
    notified = {pk for pk, _ in NOTIFIED_LEVELS}
    assert incidents[0].pk in notified
    assert incidents[2].pk not in notified
    assert incidents[2].flapping_quiet
    assert incidents[2].next_escalation_at is None
    assert "notifications stopped" in incidents[2].timeline.get(kind=Kind.FLAPPING).message


def test_quiet_stops_an_open_incidents_escalation(fire, channel):
    channel.auto_close = False
    watch(channel, Channel.Flapping.QUIET, times=2)
    flap(fire, 2)  # the alert recovers and fires again within one incident
    incident = Incident.objects.get()
    assert incident.flapping_quiet
    assert incident.next_escalation_at is None
    assert incident.timeline.filter(kind=Kind.ALERT_REFIRED).count() == 2


def test_triggers_older_than_the_window_do_not_count(fire, channel):
    watch(channel, Channel.Flapping.MARK, times=2, minutes=30)
    flap(fire, 1)
    old = (timezone.now() - timedelta(minutes=31)).isoformat()
    FlapState.objects.update(triggers=[old, old])
    fire(am_alert("Flappy", status="resolved"))
    fire(am_alert("Flappy"))
    assert not Incident.objects.filter(flapping_since__isnull=False).exists()
    assert len(FlapState.objects.get().triggers) == 1


def test_an_incident_is_marked_once(fire, channel):
    channel.auto_close = False
    watch(channel, Channel.Flapping.MARK, times=1)
    flap(fire, 4)
    assert Incident.objects.get().timeline.filter(kind=Kind.FLAPPING).count() == 1


def test_other_keys_do_not_add_up(fire, channel):
    watch(channel, Channel.Flapping.MARK, times=2)
    for name in ("A", "B", "C", "D"):
        fire(am_alert(name))
        fire(am_alert(name, status="resolved"))
    assert not Incident.objects.filter(flapping_since__isnull=False).exists()


def test_states_not_triggered_for_a_day_are_purged(fire, channel):
    watch(channel, Channel.Flapping.MARK)
    fire(am_alert("A"))
    fire(am_alert("B"))
    FlapState.objects.filter(alert_key__contains="-A-").update(
        updated_at=timezone.now() - timedelta(days=2)
    )
    assert purge_flap_states() == 1
    assert FlapState.objects.count() == 1


# --- When flapping ends ---------------------------------------------------------------------------


def age_triggers(minutes: int) -> None:
    """As if every trigger so far happened ``minutes`` ago."""
    old = (timezone.now() - timedelta(minutes=minutes)).isoformat()
    for state in FlapState.objects.all():
        state.triggers = [old for _ in state.triggers]
        state.save()


def notifications(incident: Incident) -> list[int]:
    return [level for pk, level in NOTIFIED_LEVELS if pk == incident.pk]


def test_a_quiet_incident_whose_flapping_ended_notifies_again(fire, channel):
    channel.auto_close = False
    watch(channel, Channel.Flapping.QUIET, times=2, minutes=30)
    flap(fire, 2)
    incident = Incident.objects.get()
    assert incident.flapping_quiet
    assert notifications(incident) == [0]
    age_triggers(31)

    assert settle_flapping() == 1

    incident.refresh_from_db()
    assert not incident.flapping_quiet
    assert not incident.is_flapping
    ended = incident.timeline.filter(kind=Kind.FLAPPING).order_by("pk").last()
    assert ended.message == (
        "Flapping ended: no alert triggered more than 2 times within 30 minutes; "
        "notifications resume."
    )
    assert incident.next_escalation_at is not None  # planned like after a wake
    escalation.step(incident.pk, incident.next_escalation_at.isoformat())
    assert notifications(incident) == [0, 0]  # its last notified level, again


def test_an_incident_still_flapping_keeps_its_marks(fire, channel):
    channel.auto_close = False
    watch(channel, Channel.Flapping.QUIET, times=2, minutes=30)
    flap(fire, 2)
    age_triggers(10)  # three triggers within the last 30 minutes: still more than two

    assert settle_flapping() == 0

    incident = Incident.objects.get()
    assert incident.flapping_quiet
    assert incident.next_escalation_at is None


def test_a_marked_incident_is_unmarked_when_flapping_ends(fire, channel):
    channel.auto_close = False
    watch(channel, Channel.Flapping.MARK, times=2, minutes=30)
    flap(fire, 2)
    age_triggers(31)
    planned = Incident.objects.get().next_escalation_at

    assert settle_flapping() == 1

    incident = Incident.objects.get()
    assert not incident.is_flapping
    assert incident.next_escalation_at == planned  # it never stopped: nothing re-planned
    assert incident.timeline.filter(kind=Kind.FLAPPING).last().message.endswith("minutes.")


def test_a_channel_that_stops_watching_ends_the_flapping(fire, channel):
    channel.auto_close = False
    watch(channel, Channel.Flapping.QUIET, times=2, minutes=30)
    flap(fire, 2)
    watch(channel, Channel.Flapping.OFF)

    assert settle_flapping() == 1
    assert not Incident.objects.get().flapping_quiet


def test_a_closed_incident_keeps_its_marks(fire, channel):
    watch(channel, Channel.Flapping.QUIET, times=2, minutes=30)
    flap(fire, 2)
    fire(am_alert("Flappy", status="resolved"))  # auto close
    age_triggers(31)

    assert settle_flapping() == 0
    assert Incident.objects.filter(flapping_quiet=True).count() == 1


def test_notification_templates_see_whether_it_flaps_now(fire, channel):
    channel.auto_close = False
    watch(channel, Channel.Flapping.MARK, times=2, minutes=30)
    fire(am_alert("Flappy"))
    incident = Incident.objects.get()
    assert incident_context(incident)["IsFlapping"] is False
    flap(fire, 2)
    incident.refresh_from_db()
    assert incident_context(incident)["IsFlapping"] is True
    age_triggers(31)
    settle_flapping()
    incident.refresh_from_db()
    assert incident_context(incident)["IsFlapping"] is False
