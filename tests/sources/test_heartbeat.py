"""Heartbeats: pings by GET and POST (whatever the body, never stored as a push), the sweep
that opens an incident when the pings stop (time driven by the sweep's ``now`` and by
back-dated pings), and the next ping that recovers it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from integrations.sources.heartbeat import monitor, tasks
from integrations.sources.heartbeat.models import Heartbeat
from integrations.sources.heartbeat.schedule import Schedule, duration
from integrations.sources.heartbeat.source import HeartbeatSource
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert, InboundEvent, Incident
from oncall.sources import source_kind
from tests.factories import AlertSourceFactory, api_as

OPTIONS = {"interval_minutes": 30, "grace_minutes": 5, "severity": "critical"}


# --- the signals' events (pure) -------------------------------------------------------------------


def test_a_missing_heartbeat_is_a_firing_alert_naming_the_silence(load_fixture):
    [event] = HeartbeatSource().parse(load_fixture("heartbeat/missing"))

    assert event.kind == EventKind.FIRING
    assert event.title == "No heartbeat from nightly-backup for 35 min"
    assert event.severity == Severity.CRITICAL
    assert event.raw_severity == "missing"
    assert event.alert_key == "heartbeat"
    assert event.labels == {
        "heartbeat": "nightly-backup",
        "interval_minutes": "30",
        "grace_minutes": "5",
    }
    assert "every 30 min, with 5 min of grace" in event.description


def test_a_heartbeat_back_recovers_the_same_alert(load_fixture):
    [missing] = HeartbeatSource().parse(load_fixture("heartbeat/missing"))
    [back] = HeartbeatSource().parse(load_fixture("heartbeat/back"))

    assert back.kind == EventKind.RESOLVED
    assert back.alert_key == missing.alert_key
    assert back.title == "Heartbeat from nightly-backup is back"
    assert "after 72 min of silence" in back.description


def test_a_weekly_heartbeat_says_days(load_fixture):
    [event] = HeartbeatSource().parse(load_fixture("heartbeat/missing_weekly_no_grace"))

    assert event.title == "No heartbeat from weekly-report 周报 for 7 d"
    assert event.severity == Severity.WARNING


@pytest.mark.parametrize(
    ("minutes", "text"), [(35, "35 min"), (180, "3 h"), (150, "2 h 30 min"), (4380, "3 d 1 h")]
)
def test_durations_read_as_people_say_them(minutes, text):
    assert duration(minutes) == text


@pytest.mark.parametrize("case", ["bad_unknown_state", "bad_watchdog_body", "bad_interval_zero"])
def test_anything_but_a_signal_is_refused(load_fixture, case):
    with pytest.raises(PayloadError):
        HeartbeatSource().parse(load_fixture(f"heartbeat/{case}"))


# --- options -------------------------------------------------------------------------------------


def test_the_options_default_to_an_hour_and_ten_minutes():
    options = source_kind("heartbeat").clean_options({})

    assert options == {"interval_minutes": 60, "grace_minutes": 10, "severity": "critical"}


@pytest.mark.parametrize(
    "options",
    [
        {"interval_minutes": 0},
        {"interval_minutes": "30"},
        {"interval_minutes": True},
        {"grace_minutes": -1},
        {"severity": "page"},
        {"every": 5},
        ["interval_minutes"],
    ],
)
def test_bad_options_are_refused_with_a_reason(options):
    with pytest.raises(ValidationError):
        source_kind("heartbeat").clean_options(options)


def test_a_schedule_reads_whole_minutes():
    schedule = Schedule.from_options({"interval_minutes": 30, "grace_minutes": 0})

    assert (schedule.interval, schedule.grace) == (timedelta(minutes=30), timedelta(0))


# --- pings ---------------------------------------------------------------------------------------


@pytest.fixture
def source(channel):
    return AlertSourceFactory(
        channel=channel, kind="heartbeat", name="nightly-backup", options=OPTIONS
    )


def last_ping(source) -> Heartbeat:
    return Heartbeat.objects.get(source=source)


@pytest.mark.django_db
def test_a_get_is_a_ping_answered_200_and_stored_as_the_last_ping(client, source):
    before = timezone.now()

    response = client.get(f"/push/{source.token}")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    heartbeat = last_ping(source)
    assert heartbeat.last_ping_at >= before
    assert heartbeat.pings == 1
    assert body["next_ping_by"] == (heartbeat.last_ping_at + timedelta(minutes=35)).isoformat()
    assert not InboundEvent.objects.exists()  # a ping is not a push


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (json.dumps({"version": "4", "status": "firing", "alerts": []}), "application/json"),
        ("", "application/x-www-form-urlencoded"),  # curl -d ''
        ("exit=0&took=41s", "application/x-www-form-urlencoded"),
        ("", ""),  # curl -X POST with no data
    ],
    ids=["alertmanager-watchdog", "empty-form", "form", "empty"],
)
def test_a_post_with_any_body_is_a_ping(client, source, data, content_type):
    response = client.post(f"/push/{source.token}", data=data, content_type=content_type)

    assert response.status_code == 200, response.json()
    assert response.json()["ok"] is True
    assert last_ping(source).pings == 1
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_a_ping_by_the_query_token_counts_too(client, source):
    response = client.get(f"/push/?integration_key={source.token}")

    assert response.status_code == 200
    assert last_ping(source).pings == 1


@pytest.mark.django_db
def test_a_ping_with_an_unknown_token_is_401(client):
    assert client.get("/push/not-a-token").status_code == 401


@pytest.mark.django_db
def test_a_disabled_heartbeat_refuses_pings(client, source):
    source.enabled = False
    source.save()

    assert client.get(f"/push/{source.token}").status_code == 403
    assert not Heartbeat.objects.exists()


# --- the sweep ------------------------------------------------------------------------------------


def sweep(django_capture_on_commit_callbacks, now=None) -> int:
    """Run the sweep and what it enqueued (the merge into incidents)."""
    with django_capture_on_commit_callbacks(execute=True):
        return monitor.sweep(now)


def ping(django_capture_on_commit_callbacks, source, now=None) -> Heartbeat:
    with django_capture_on_commit_callbacks(execute=True):
        return monitor.record_ping(source, now)


@pytest.mark.django_db
def test_a_heartbeat_that_stops_opens_an_incident_once_its_grace_is_over(
    source, django_capture_on_commit_callbacks
):
    pinged = timezone.now() - timedelta(hours=1)
    ping(django_capture_on_commit_callbacks, source, pinged)

    # Late, but within its grace: nothing yet.
    assert sweep(django_capture_on_commit_callbacks, pinged + timedelta(minutes=31)) == 0
    assert not Incident.objects.exists()

    assert sweep(django_capture_on_commit_callbacks, pinged + timedelta(minutes=35)) == 1

    incident = Incident.objects.get()
    assert incident.title == "No heartbeat from nightly-backup for 35 min"
    assert incident.severity == Severity.CRITICAL
    assert incident.channel == source.channel
    assert incident.status == Incident.Status.TRIGGERED
    assert last_ping(source).missing_since == pinged + timedelta(minutes=35)


@pytest.mark.django_db
def test_a_missing_heartbeat_opens_one_incident_however_often_the_sweep_runs(
    source, django_capture_on_commit_callbacks
):
    pinged = timezone.now() - timedelta(hours=3)
    ping(django_capture_on_commit_callbacks, source, pinged)

    assert sweep(django_capture_on_commit_callbacks, pinged + timedelta(minutes=40)) == 1
    assert sweep(django_capture_on_commit_callbacks, pinged + timedelta(minutes=41)) == 0
    assert sweep(django_capture_on_commit_callbacks) == 0

    assert Incident.objects.count() == 1
    assert InboundEvent.objects.count() == 1


@pytest.mark.django_db
def test_the_next_ping_closes_it(client, source, django_capture_on_commit_callbacks):
    ping(django_capture_on_commit_callbacks, source, timezone.now() - timedelta(hours=2))
    sweep(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/push/{source.token}")

    assert response.status_code == 200
    assert Alert.objects.get().status == Alert.Status.RESOLVED
    assert Incident.objects.get().status == Incident.Status.CLOSED
    heartbeat = last_ping(source)
    assert heartbeat.missing_since is None
    assert heartbeat.pings == 2


@pytest.mark.django_db
def test_a_post_ping_closes_it_too_and_it_can_go_missing_again(
    client, source, django_capture_on_commit_callbacks
):
    ping(django_capture_on_commit_callbacks, source, timezone.now() - timedelta(hours=2))
    sweep(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/push/{source.token}", data="{}", content_type="application/json")
    assert Incident.objects.get().status == Incident.Status.CLOSED

    later = timezone.now() + timedelta(minutes=36)
    assert sweep(django_capture_on_commit_callbacks, later) == 1

    assert Incident.objects.exclude(status=Incident.Status.CLOSED).count() == 1


@pytest.mark.django_db
def test_pings_in_time_keep_it_quiet(source, django_capture_on_commit_callbacks):
    start = timezone.now() - timedelta(hours=2)
    for minutes in (0, 30, 60, 90):
        ping(django_capture_on_commit_callbacks, source, start + timedelta(minutes=minutes))
        assert (
            sweep(django_capture_on_commit_callbacks, start + timedelta(minutes=minutes + 34)) == 0
        )

    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_a_heartbeat_never_pinged_raises_nothing(source, django_capture_on_commit_callbacks):
    assert sweep(django_capture_on_commit_callbacks, timezone.now() + timedelta(days=30)) == 0
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_a_disabled_heartbeat_is_not_swept(source, django_capture_on_commit_callbacks):
    ping(django_capture_on_commit_callbacks, source, timezone.now() - timedelta(hours=2))
    source.enabled = False
    source.save()

    assert sweep(django_capture_on_commit_callbacks) == 0


@pytest.mark.django_db
def test_the_sweep_reads_each_heartbeats_own_schedule(channel, django_capture_on_commit_callbacks):
    pinged = timezone.now() - timedelta(minutes=20)
    fast = AlertSourceFactory(
        channel=channel, kind="heartbeat", name="fast", options={"interval_minutes": 10}
    )
    slow = AlertSourceFactory(
        channel=channel, kind="heartbeat", name="slow", options={"interval_minutes": 60}
    )
    for source in (fast, slow):
        ping(django_capture_on_commit_callbacks, source, pinged)

    assert tasks.sweep_heartbeats() == 1  # the task sweeps at the current time

    assert last_ping(fast).missing_since is not None
    assert last_ping(slow).missing_since is None


def test_the_sweep_runs_every_minute_in_celery_beat():
    from oncall.celery import app

    entries = [
        entry
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "integrations.sources.heartbeat.tasks.sweep_heartbeats"
    ]
    assert entries == [HeartbeatSource().periodic_tasks()["sweep-heartbeats"]]
    assert entries[0]["schedule"] == 60.0
    assert entries[0]["task"] in app.tasks


# --- the source page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_source_page_shows_the_state_and_the_last_ping(
    admin_client, source, django_capture_on_commit_callbacks
):
    page = admin_client.get(f"/admin/oncall/alertsource/{source.pk}/change/")
    assert "<th>Heartbeat</th><td>waiting for the first ping</td>" in page.content.decode()

    ping(django_capture_on_commit_callbacks, source, timezone.now() - timedelta(hours=2))
    sweep(django_capture_on_commit_callbacks)
    page = admin_client.get(f"/admin/oncall/alertsource/{source.pk}/change/").content.decode()

    assert "<th>Heartbeat</th><td>missing</td>" in page
    assert "<th>Last ping</th>" in page
    assert "(2 hours ago)" in page
    assert "curl -fsS -m 10" in page  # the cron snippet of the set-up guide


@pytest.mark.django_db
def test_the_api_shows_the_state_and_the_last_ping(
    admin_user, source, django_capture_on_commit_callbacks
):
    api = api_as(admin_user)
    url = f"/api/v1/alert-sources/{source.public_id}/"
    assert api.get(url).json()["status"][0] == {
        "label": "Heartbeat",
        "value": "waiting for the first ping",
    }

    ping(django_capture_on_commit_callbacks, source, timezone.now() - timedelta(hours=2))
    sweep(django_capture_on_commit_callbacks)
    rows = api.get(url).json()["status"]

    assert [row["label"] for row in rows] == ["Heartbeat", "Last ping", "Missing after"]
    assert rows[0]["value"] == "missing"
    assert rows[1]["value"].endswith("(2 hours ago)")
    listed = api.get("/api/v1/alert-sources/").json()["results"]
    assert [item["status"] for item in listed] == [rows]


@pytest.mark.django_db
def test_the_api_shows_no_status_for_kinds_without_state(admin_user, channel):
    other = AlertSourceFactory(channel=channel, kind="alertmanager")

    response = api_as(admin_user).get(f"/api/v1/alert-sources/{other.public_id}/")

    assert response.status_code == 200
    assert response.json()["status"] == []


@pytest.mark.django_db
def test_the_api_gives_the_status_in_the_callers_language(admin_user, source):
    response = api_as(admin_user).get(
        f"/api/v1/alert-sources/{source.public_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert response.json()["status"][0]["label"] == "心跳"


@pytest.mark.django_db
def test_the_states_as_time_goes_by(source):
    heartbeat = Heartbeat(source=source, last_ping_at=timezone.now())
    interval, grace = timedelta(minutes=30), timedelta(minutes=5)
    at = heartbeat.last_ping_at

    assert heartbeat.state(at + timedelta(minutes=10), interval, grace) == Heartbeat.State.UP
    assert heartbeat.state(at + timedelta(minutes=32), interval, grace) == Heartbeat.State.LATE
    assert heartbeat.state(at + timedelta(minutes=36), interval, grace) == Heartbeat.State.MISSING
