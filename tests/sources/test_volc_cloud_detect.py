from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.volc_cloud_detect import parser as detect
from integrations.sources.volc_cloud_detect.source import VolcCloudDetectSource
from oncall.events import EventKind, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_refused_with_hint, assert_repeats_merge


def test_it_reads_one_firing_alert_per_probe_task(load_fixture):
    [event] = detect.parse(load_fixture("volc_cloud_detect/firing"))

    assert event.alert_key.startswith("volc_detect:5120:88120:")
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "P0",
    )
    assert event.title == "Checkout page availability: probe task 88120"
    assert event.description == (
        "Synthetic GET of /checkout from five provinces\n"
        "availability_rate = 71.5 (threshold 95)\nresponse_time = 4380 (threshold 2000)"
    )
    assert event.starts_at == datetime(2024, 12, 3, 7, 20, tzinfo=UTC)
    assert event.labels == {
        "task_id": "5120",
        "subtask_id": "88120",
        "account_id": "2100123456",
        "owner": "ops-admin",
        "grade": "P0",
        "client.isp.name": "China Telecom",
        "client.province.name": "Guangdong,Fujian",
    }


def test_a_repeat_merges_and_nothing_resolves(load_fixture):
    [first] = detect.parse(load_fixture("volc_cloud_detect/firing"))
    [repeat] = detect.parse(load_fixture("volc_cloud_detect/repeat"))

    assert repeat.alert_key == first.alert_key
    assert repeat.kind == EventKind.FIRING


def test_other_filters_are_another_alert(load_fixture):
    other = load_fixture("volc_cloud_detect/firing")
    other["subtask_list"][0]["filters"][0]["values"] = ["China Unicom"]

    [event] = detect.parse(other)

    assert event.alert_key != detect.parse(load_fixture("volc_cloud_detect/firing"))[0].alert_key


def test_probes_without_filters_and_text_ids_are_read(load_fixture):
    first, second = detect.parse(load_fixture("volc_cloud_detect/two_probes_p2"))

    assert [first.alert_key, second.alert_key] == [
        "volc_detect:5121:88131",
        "volc_detect:5121:88132",
    ]
    assert first.severity == Severity.WARNING
    assert first.starts_at == datetime(2024, 12, 3, 7, 30, tzinfo=UTC)
    assert (second.starts_at, second.description) == (None, "")


@pytest.mark.parametrize(("grade", "severity"), VolcCloudDetectSource.severity_table)
def test_it_maps_the_grades(load_fixture, grade, severity):
    payload = load_fixture("volc_cloud_detect/firing")
    payload["grade"] = grade.lower()

    [event] = detect.parse(payload)

    assert event.severity == severity


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_no_subtasks", "subtask_list"),
        ("bad_task_id", "task_id"),
        ("bad_begin_time", "subtask_list[0].alarm_begin_time"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        detect.parse(load_fixture(f"volc_cloud_detect/{case}"))

    assert error.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert detect.recognises(load_fixture("volc_cloud_detect/two_probes_p2"))
    assert not detect.recognises(load_fixture("volc_cm_event/firing"))
    assert not detect.recognises(load_fixture("blueking/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_a_repeat_merges_into_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="volc_cloud_detect")

    assert_repeats_merge(
        push,
        source,
        load_fixture("volc_cloud_detect/firing"),
        load_fixture("volc_cloud_detect/repeat"),
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="volc_cloud_detect")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("jiankongbao/firing"),
        "This looks like a Jiankongbao payload; this source expects Volcengine Cloud-Detect.",
    )
