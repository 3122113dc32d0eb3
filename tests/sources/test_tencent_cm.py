from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.tencent_cm import parser as cm
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import InboundEvent
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_a_metric_alarm_as_a_firing_alert(load_fixture):
    [event] = cm.parse(load_fixture("tencent_cm/firing"))

    assert event.alert_key.startswith("tencent_cm:policy-7xk2m9qa:")
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "Serious",
    )
    assert event.title == "CPU utilization > 90% on 10.0.4.17#804411"
    assert event.description == (
        "Policy: web tier CPU (CVM - basic monitoring)\nCurrent value: 97.5%\n"
        "First occurred: 2024-09-02 14:20:00\nDuration: 120 s"
    )
    assert event.starts_at == datetime(2024, 9, 2, 6, 20, tzinfo=UTC)
    assert event.labels == {
        "unInstanceId": "ins-3kq8zt1w",
        "objId": "5d2c7a8e-91b4-4f0e-a6c3-2e8f1b9d4c70",
        "objName": "10.0.4.17#804411",
        "region": "gz",
        "namespace": "qce/cvm",
        "policyId": "policy-7xk2m9qa",
        "policyType": "cvm_device",
        "alarmType": "metric",
    }


def test_alarm_status_0_resolves_the_same_alert(load_fixture):
    [firing] = cm.parse(load_fixture("tencent_cm/firing"))
    [recovered] = cm.parse(load_fixture("tencent_cm/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED


def test_an_event_alarm_without_a_level_is_critical(load_fixture):
    [event] = cm.parse(load_fixture("tencent_cm/event_no_level"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "",
    )
    assert event.title == "ping unreachable on ins-3kq8zt1w"
    assert event.labels["deviceWanIp"] == "203.0.113.40"


def test_an_event_alarm_resolves_by_its_recover_time_not_its_status(load_fixture):
    [firing] = cm.parse(load_fixture("tencent_cm/event_no_level"))
    [recovered] = cm.parse(load_fixture("tencent_cm/event_recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED


@pytest.mark.parametrize(
    ("level", "severity"),
    [("Remind", "info"), ("Warn", "warning"), ("Serious", "critical")],
)
def test_it_maps_the_alarm_level_table(load_fixture, level, severity):
    payload = load_fixture("tencent_cm/firing")
    payload["alarmLevel"] = level

    [event] = cm.parse(payload)

    assert event.severity == severity


@pytest.mark.parametrize(
    ("alarm_type", "severity"),
    [("metric", "warning"), ("event", "critical"), ("prometheus", "critical"), ("", "critical")],
)
def test_without_a_known_level_the_type_decides(load_fixture, alarm_type, severity):
    payload = load_fixture("tencent_cm/firing")
    payload["alarmType"] = alarm_type
    payload["alarmLevel"] = "Urgent"

    [event] = cm.parse(payload)

    assert event.severity == severity


def test_repeats_merge_and_other_objects_do_not(load_fixture):
    again = load_fixture("tencent_cm/firing")
    again["sessionId"] = "another"
    again["durationTime"] = 420
    other = load_fixture("tencent_cm/firing")
    other["alarmObjInfo"]["dimensions"]["unInstanceId"] = "ins-other"
    key = cm.parse(load_fixture("tencent_cm/firing"))[0].alert_key

    assert cm.parse(again)[0].alert_key == key
    assert cm.parse(other)[0].alert_key != key


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_alarm_status", "alarmStatus"),
        ("bad_missing_policy_id", "alarmPolicyInfo.policyId"),
        ("bad_dimensions_not_object", "alarmObjInfo.dimensions"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        cm.parse(load_fixture(f"tencent_cm/{case}"))

    assert error.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert cm.recognises(load_fixture("tencent_cm/event_no_level"))
    assert not cm.recognises(load_fixture("tencent_cls/firing"))
    assert not cm.recognises(load_fixture("blueking/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="tencent_cm")

    assert_fires_then_resolves(
        push, source, load_fixture("tencent_cm/firing"), load_fixture("tencent_cm/recovered")
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="tencent_cm")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("blueking/firing"),
        "This looks like a Tencent BlueKing payload; this source expects Tencent Cloud Monitor.",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("check", [{}, {"sessionId": "verify-1"}])
def test_the_url_check_is_answered_200_and_stores_nothing(push, channel, check):
    source = AlertSourceFactory(channel=channel, kind="tencent_cm")

    response = push(source, check)

    assert response.status_code == 200
    assert response.json()["retCode"] == 0
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_an_accepted_alarm_is_answered_with_ret_code_0(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="tencent_cm")

    response = push(source, load_fixture("tencent_cm/firing"))

    assert (response.status_code, response.json()["retCode"], response.json()["accepted"]) == (
        200,
        0,
        1,
    )
