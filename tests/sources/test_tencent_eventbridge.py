from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.tencent_eventbridge import parser as eb
from integrations.sources.tencent_eventbridge.source import TencentEbSource
from oncall.events import EventKind, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_an_abnormal_event_as_a_firing_warning(load_fixture):
    [event] = eb.parse(load_fixture("tencent_eventbridge/firing"))

    assert event.alert_key.startswith("tencent_eb:")
    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.WARNING)
    assert event.title == "cvm:ErrorEvent:ping_unreachable on ins-3kq8zt1w"
    assert event.description == (
        "appId: 1250000001\ninstanceId: ins-3kq8zt1w\ninstanceName: web-17\ndeviceLanIp: 10.0.4.17"
    )
    assert event.starts_at == datetime(2024, 9, 2, 7, 1, 10, tzinfo=UTC)
    assert event.labels == {
        "source": "cvm.cloud.tencent",
        "type": "cvm:ErrorEvent:ping_unreachable",
        "region": "ap-guangzhou",
        "subject": "qcs::cvm:ap-guangzhou:uin/100012345678:instance/ins-3kq8zt1w",
        "appId": "1250000001",
        "instanceId": "ins-3kq8zt1w",
        "instanceName": "web-17",
        "deviceLanIp": "10.0.4.17",
    }


def test_status_0_resolves_the_same_alert(load_fixture):
    [firing] = eb.parse(load_fixture("tencent_eventbridge/firing"))
    [recovered] = eb.parse(load_fixture("tencent_eventbridge/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED


def test_an_event_without_state_fires(load_fixture):
    [event] = eb.parse(load_fixture("tencent_eventbridge/stateless_event"))

    assert event.kind == EventKind.FIRING
    assert event.title == "cbs:ErrorEvent:DiskReadonly on disk-7h2k9p4m"
    assert event.starts_at == datetime(2024, 9, 2, 7, 26, 40, tzinfo=UTC)


@pytest.mark.parametrize("status", ["1", "-", None])
def test_every_event_is_a_warning_as_the_knowledge_base_says(load_fixture, status):
    payload = load_fixture("tencent_eventbridge/firing")
    payload["status"] = status

    [event] = eb.parse(payload)

    assert event.severity == Severity.WARNING
    assert dict(TencentEbSource.severity_table) == {"any event": Severity.WARNING}


def test_the_same_event_type_on_another_resource_is_another_alert(load_fixture):
    other = load_fixture("tencent_eventbridge/firing")
    other["subject"] = "qcs::cvm:ap-guangzhou:uin/100012345678:instance/ins-other"
    again = load_fixture("tencent_eventbridge/firing")
    again["id"] = "another-delivery"
    key = eb.parse(load_fixture("tencent_eventbridge/firing"))[0].alert_key

    assert eb.parse(again)[0].alert_key == key
    assert eb.parse(other)[0].alert_key != key


@pytest.mark.parametrize(
    ("case", "field"),
    [("bad_missing_type", "type"), ("bad_data_not_object", "data"), ("bad_time", "time")],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        eb.parse(load_fixture(f"tencent_eventbridge/{case}"))

    assert error.value.field == field


def test_it_recognises_tencent_cloud_events_only(load_fixture):
    assert eb.recognises(load_fixture("tencent_eventbridge/stateless_event"))
    assert not eb.recognises(load_fixture("tencent_cm/firing"))
    assert not eb.recognises({"specversion": "1.0", "source": "aws.ec2"})


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="tencent_eventbridge")

    assert_fires_then_resolves(
        push,
        source,
        load_fixture("tencent_eventbridge/firing"),
        load_fixture("tencent_eventbridge/recovered"),
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="tencent_eventbridge")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("volc_cm_event/firing"),
        "This looks like a Volcengine Cloud Monitor events payload; "
        "this source expects Tencent Cloud EventBridge.",
    )
