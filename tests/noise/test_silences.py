"""Silences: one-time and weekly (time zones, daylight saving), drop or keep marked, and an alert
kept by a silence that ends while it fires opens its incident then."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from oncall.models import Alert, EscalationRule, Incident, Silence, SilenceHold
from oncall.noise.silences import period_end, release_due
from tests.noise.pushes import standard_source
from tests.stub_platform.platform import NOTIFIED_LEVELS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_platform")]


@pytest.fixture
def source(channel):
    """A standard-protocol source (this module pushes with ``emit``)."""
    return standard_source(channel)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def weekly(channel, days, start, end, zone="Europe/Berlin", **fields) -> Silence:
    silence = Silence(
        channel=channel,
        name="nightly",
        kind=Silence.Kind.WEEKLY,
        weekdays=days,
        start_time=start,
        end_time=end,
        time_zone=zone,
        **fields,
    )
    silence.full_clean()
    silence.save()
    return silence


def once(channel, minutes: int = 60, condition=(), **fields) -> Silence:
    now = timezone.now()
    silence = Silence(
        channel=channel,
        name="deploy",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(minutes=minutes),
        condition=list(condition),
        **fields,
    )
    silence.full_clean()
    silence.save()
    return silence


# --- When a silence is active --------------------------------------------------------------------


def test_a_weekly_night_keeps_its_wall_clock_hours_across_daylight_saving(channel):
    # Fridays 22:00 to 06:00, Berlin. Winter is UTC+1, summer UTC+2.
    silence = weekly(channel, [4], time(22), time(6))
    assert period_end(silence, utc(2026, 1, 9, 21, 30)) == utc(2026, 1, 10, 5)  # winter
    assert period_end(silence, utc(2026, 1, 9, 20, 30)) is None
    assert period_end(silence, utc(2026, 7, 10, 20, 30)) == utc(2026, 7, 11, 4)  # summer
    assert period_end(silence, utc(2026, 7, 11, 4, 30)) is None
    # The last Friday of summer time, and the first of winter time.
    assert period_end(silence, utc(2026, 10, 23, 20)) == utc(2026, 10, 24, 4)
    assert period_end(silence, utc(2026, 10, 30, 21)) == utc(2026, 10, 31, 5)


def test_a_night_across_the_autumn_change_is_an_hour_longer(channel):
    # Saturday 24 Oct 2026 22:00 CEST to Sunday 25 Oct 06:00 CET (clocks go back at 03:00): 9 h.
    silence = weekly(channel, [5], time(22), time(6))
    assert period_end(silence, utc(2026, 10, 24, 20)) == utc(2026, 10, 25, 5)
    assert period_end(silence, utc(2026, 10, 25, 4, 30)) == utc(2026, 10, 25, 5)
    assert period_end(silence, utc(2026, 10, 24, 19, 59)) is None


def test_a_night_across_the_spring_change_is_an_hour_shorter(channel):
    # Saturday 28 March 2026 22:00 CET to Sunday 29 March 06:00 CEST: 7 hours.
    silence = weekly(channel, [5], time(22), time(6))
    start = utc(2026, 3, 28, 21)
    assert period_end(silence, start) == utc(2026, 3, 29, 4)
    assert period_end(silence, start - timedelta(seconds=1)) is None


def test_a_weekly_silence_reads_its_days_in_its_own_time_zone(channel):
    # Monday all day in Shanghai (UTC+8) starts on Sunday 16:00 UTC.
    silence = weekly(channel, [0], None, None, zone="Asia/Shanghai")
    assert period_end(silence, utc(2026, 12, 6, 16, 30)) == utc(2026, 12, 7, 16)
    assert period_end(silence, utc(2026, 12, 7, 16, 30)) is None


def test_consecutive_whole_days_are_one_period(channel):
    silence = weekly(channel, [5, 6], None, None, zone="UTC")  # the weekend
    assert period_end(silence, utc(2026, 12, 5, 10)) == utc(2026, 12, 7)


@pytest.mark.parametrize(
    "moment",
    [
        utc(2026, 3, 29, 1, 15),  # 03:15 CEST, just after the spring gap (02:00-03:00)
        utc(2026, 3, 29, 1, 30),  # 02:30 read before the change: 01:30 UTC
        utc(2026, 3, 29, 1, 59),
        utc(2026, 3, 29, 2, 0),  # 04:00 CEST: the end, excluded
        utc(2026, 10, 25, 0, 45),  # 02:45 CEST, before the autumn change
        utc(2026, 10, 25, 1, 45),  # 02:45 CET, the second time that hour
        utc(2026, 10, 25, 2, 59),
    ],
)
def test_escalation_rules_read_the_weekly_window_as_silences_do(channel, moment):
    # Sundays 02:30 to 04:00 in Berlin: hours that vanish or repeat at the changes.
    silence = weekly(channel, [6], time(2, 30), time(4))
    rule = EscalationRule(
        channel=channel, name="r", days=[6], start_time=time(2, 30), end_time=time(4)
    )
    rule.timezone = "Europe/Berlin"
    assert rule.in_window(moment) == (period_end(silence, moment) is not None)


def test_a_one_time_silence_expires_by_itself(channel):
    silence = once(channel, minutes=30)
    assert period_end(silence, timezone.now()) == silence.ends_at
    assert period_end(silence, silence.ends_at) is None
    silence.enabled = False
    assert period_end(silence, timezone.now()) is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "once"}, "ends_at"),
        ({"kind": "weekly", "weekdays": []}, "weekdays"),
        ({"kind": "weekly", "weekdays": [7]}, "weekdays"),
        ({"kind": "weekly", "weekdays": [1], "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"kind": "once", "ends_at": timezone.now(), "condition": "x"}, "condition"),
    ],
)
def test_it_refuses_a_silence_it_could_not_apply(channel, fields, field):
    with pytest.raises(ValidationError) as refused:
        Silence(channel=channel, name="x", **fields).full_clean()
    assert field in refused.value.message_dict


# --- What it does to alerts ---------------------------------------------------------------------


def test_a_kept_alert_is_listed_silenced_opens_no_incident_and_notifies_nobody(emit, channel):
    silence = once(channel, condition=[{"key": "labels.env", "op": "eq", "value": "dev"}])
    emit(env="dev")
    emit(key="prod-one", env="prod")

    kept = Alert.objects.get(alert_key="cpu-web-1")
    assert (kept.incident, kept.suppressed) == (None, Alert.Suppression.SILENCED)
    assert kept.suppressed_detail["silence"] == str(silence.public_id)
    assert SilenceHold.objects.get(alert=kept).recheck_at == silence.ends_at
    assert Incident.objects.get().alerts.get().alert_key == "prod-one"
    assert len(NOTIFIED_LEVELS) == 1  # the prod incident only


def test_a_dropping_silence_stores_nothing(emit, channel):
    once(channel, behaviour=Silence.Behaviour.DROP)
    emit()
    emit()
    assert Alert.objects.count() == 0
    assert Incident.objects.count() == 0


def test_an_alert_in_an_open_incident_is_not_silenced(emit, channel):
    emit()
    once(channel)
    emit()
    assert Alert.objects.get().event_count == 2
    assert Alert.objects.get().suppressed is None


def test_a_silence_ending_while_the_alert_fires_opens_its_incident_then(
    emit, channel, django_capture_on_commit_callbacks
):
    silence = once(channel, minutes=10)
    emit()
    assert Incident.objects.count() == 0
    assert release_due(timezone.now()) == 0  # not due before the silence ends

    with django_capture_on_commit_callbacks(execute=True):
        release_due(silence.ends_at + timedelta(seconds=1))

    alert = Alert.objects.get()
    assert alert.suppressed is None
    assert alert.incident is not None
    assert alert.incident.alerts.count() == 1
    assert not SilenceHold.objects.exists()
    assert len(NOTIFIED_LEVELS) == 1  # escalated as a new incident


def test_an_alert_that_recovered_during_the_silence_opens_nothing(emit, channel):
    silence = once(channel, minutes=10)
    emit()
    emit(status="Ok")
    release_due(silence.ends_at + timedelta(seconds=1))
    assert Incident.objects.count() == 0
    assert not SilenceHold.objects.exists()


def test_a_further_event_after_the_silence_ended_opens_the_incident_at_once(emit, channel):
    silence = once(channel, minutes=10)
    emit()
    silence.ends_at = timezone.now() - timedelta(seconds=1)
    silence.save()
    emit()
    alert = Alert.objects.get()
    assert alert.incident is not None
    assert alert.event_count == 2


def test_another_silence_still_holding_moves_the_hold_on(emit, channel):
    first = once(channel, minutes=10)
    emit()
    second = once(channel, minutes=120)
    release_due(first.ends_at + timedelta(seconds=1))
    hold = SilenceHold.objects.get()
    assert (hold.silence, hold.recheck_at) == (second, second.ends_at)
    assert Alert.objects.get().incident is None


def test_deleting_the_silence_releases_its_alerts_at_the_next_sweep(emit, channel):
    silence = once(channel, minutes=600)
    emit()
    silence.delete()
    release_due(timezone.now())
    assert Alert.objects.get().incident is not None
