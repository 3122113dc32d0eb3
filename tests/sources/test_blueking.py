from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.blueking import parser as blueking
from integrations.sources.blueking.source import BluekingSource
from oncall.events import EventKind, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_an_anomaly_notice_as_a_firing_alert(load_fixture):
    [event] = blueking.parse(load_fixture("blueking/firing"))

    assert event.alert_key == "blueking:7:172905113800214"
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "fatal",
    )
    assert event.title == "Disk usage on /data"
    assert event.description == (
        "Lasted 2m, max(disk usage) >= 90%, current value 93.4%\nCurrent value: 93.4"
    )
    assert event.starts_at == datetime(2024, 10, 16, 3, 38, tzinfo=UTC)
    assert event.ends_at is None


def test_it_renders_dimensions_and_business_as_labels(load_fixture):
    [event] = blueking.parse(load_fixture("blueking/firing"))

    assert event.labels == {
        "bk_target_ip": "10.20.3.41",
        "bk_target_cloud_id": "0",
        "mount_point": "/data",
        "bk_topo_node": '["biz|7","set|12","module|340"]',
        "bk_host_id": "5120",
        "bk_biz_id": "7",
        "bk_biz_name": "payments",
        "scenario": "os",
        "strategy_id": "9031",
        "tags": "payments,storage",
    }


def test_a_recovery_notice_resolves_the_same_alert(load_fixture):
    [firing] = blueking.parse(load_fixture("blueking/firing"))
    [recovered] = blueking.parse(load_fixture("blueking/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED
    assert recovered.ends_at == datetime(2024, 10, 16, 4, 5, tzinfo=UTC)


def test_a_closed_notice_resolves_and_text_ids_and_levels_are_read(load_fixture):
    [event] = blueking.parse(load_fixture("blueking/closed_notice_level"))

    assert event.alert_key == "blueking:7:172905200100031"
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.RESOLVED,
        Severity.INFO,
        "notice",
    )
    assert event.labels["task_id"] == "88"
    assert "tags" not in event.labels


def test_other_notices_carry_nothing_to_act_on(load_fixture):
    assert blueking.parse(load_fixture("blueking/ack_notice")) == []


@pytest.mark.parametrize(("level", "severity"), [(1, "critical"), (2, "warning"), (3, "info")])
def test_it_maps_the_knowledge_base_severity_table(load_fixture, level, severity):
    payload = load_fixture("blueking/firing")
    payload["event"]["level"] = level

    [event] = blueking.parse(payload)

    assert event.severity == severity


def test_the_declared_severity_table_matches_the_parser():
    assert [severity for _, severity in BluekingSource.severity_table] == [
        blueking.LEVELS[level][1] for level in (1, 2, 3)
    ]


def test_repeated_notices_of_one_alert_share_the_key(load_fixture):
    first = load_fixture("blueking/firing")
    again = load_fixture("blueking/firing")
    again["current_value"] = 95.0
    again["latest_anomaly_record"]["anomaly_id"] = "another"

    assert blueking.parse(first)[0].alert_key == blueking.parse(again)[0].alert_key


@pytest.mark.parametrize(
    ("case", "field"),
    [("bad_missing_event", "event"), ("bad_level", "event.level")],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        blueking.parse(load_fixture(f"blueking/{case}"))

    assert error.value.field == field


def test_it_refuses_a_missing_alert_id(load_fixture):
    payload = load_fixture("blueking/firing")
    del payload["event"]["id"]

    with pytest.raises(PayloadError) as error:
        blueking.parse(payload)

    assert error.value.field == "event.id"


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert blueking.recognises(load_fixture("blueking/firing"))
    assert not blueking.recognises(load_fixture("alertmanager/firing"))
    assert not blueking.recognises(["not", "an", "object"])


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="blueking")

    assert_fires_then_resolves(
        push, source, load_fixture("blueking/firing"), load_fixture("blueking/recovered")
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="blueking")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("tencent_cm/firing"),
        "This looks like a Tencent Cloud Monitor payload; this source expects Tencent BlueKing.",
    )
