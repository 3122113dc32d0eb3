from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from integrations.sources.jiankongbao import parser as jkb
from integrations.sources.jiankongbao.source import JiankongbaoSource
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert
from oncall.sources import PushRequest, SourceRefused
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_an_alarm_as_a_firing_alert(load_fixture):
    [event] = jkb.parse(load_fixture("jiankongbao/firing"))

    assert event.alert_key == "jiankongbao:316540"
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.WARNING,
        "fault",
    )
    assert event.title == "shop.example.com homepage"
    assert event.description == "网站不可用: HTTP 503 from 3 of 5 probes"
    assert event.starts_at == datetime(2024, 12, 3, 8, 30, tzinfo=UTC)
    assert event.labels == {
        "task_id": "316540",
        "task_type": "http",
        "task_summary": "https://shop.example.com/",
    }


def test_a_recovery_resolves_the_same_alert(load_fixture):
    [firing] = jkb.parse(load_fixture("jiankongbao/firing"))
    [recovered] = jkb.parse(load_fixture("jiankongbao/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED
    assert recovered.description == "Recovered: HTTP 200 from 5 of 5 probes"


def test_a_reminder_with_numbers_and_plain_content_is_read(load_fixture):
    [event] = jkb.parse(load_fixture("jiankongbao/reminder_numbers"))

    assert (event.alert_key, event.severity, event.raw_severity) == (
        "jiankongbao:316777",
        Severity.INFO,
        "reminder",
    )
    assert event.title == "db-host-3 disk"
    assert event.description == "Disk /data 81% used (plain text, not encoded)"
    assert event.labels["server_id"] == "8812"


@pytest.mark.parametrize(("message_type", "severity"), [("1", "warning"), ("2", "info")])
def test_it_maps_the_knowledge_base_severity_table(load_fixture, message_type, severity):
    payload = load_fixture("jiankongbao/firing")
    payload["message_type"] = message_type

    [event] = jkb.parse(payload)

    assert event.severity == severity
    assert [s for _, s in JiankongbaoSource.severity_table] == [Severity.WARNING, Severity.INFO]


def test_every_message_of_a_task_shares_the_key(load_fixture):
    again = load_fixture("jiankongbao/firing")
    again["msg_id"] = "90412300"

    assert jkb.parse(again)[0].alert_key == "jiankongbao:316540"


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_message_status", "message_status"),
        ("bad_missing_task_id", "task_id"),
        ("bad_fault_time", "fault_time"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        jkb.parse(load_fixture(f"jiankongbao/{case}"))

    assert error.value.field == field


def test_with_the_callback_token_as_secret_a_signed_callback_is_taken(load_fixture):
    source = JiankongbaoSource()

    events = source.parse_push(
        load_fixture("jiankongbao/recovered"), PushRequest.bare(secret="cb-token-1")
    )

    assert [event.kind for event in events] == [EventKind.RESOLVED]


def test_with_the_callback_token_as_secret_a_wrong_token_is_refused(load_fixture):
    payload = load_fixture("jiankongbao/firing")
    payload["token"] = "0" * 32

    with pytest.raises(SourceRefused) as refused:
        JiankongbaoSource().parse_push(payload, PushRequest.bare(secret="cb-token-1"))

    assert (refused.value.status, refused.value.code) == (401, "invalid_signature")


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert jkb.recognises(load_fixture("jiankongbao/reminder_numbers"))
    assert not jkb.recognises(load_fixture("volc_cloud_detect/firing"))
    assert not jkb.recognises(load_fixture("zilliz/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="jiankongbao")

    assert_fires_then_resolves(
        push, source, load_fixture("jiankongbao/firing"), load_fixture("jiankongbao/recovered")
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="jiankongbao")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("volc_cloud_detect/firing"),
        "This looks like a Volcengine Cloud-Detect payload; this source expects Jiankongbao.",
    )


@pytest.mark.django_db
def test_a_form_encoded_callback_is_read_like_json(
    client, channel, load_fixture, django_capture_on_commit_callbacks
):
    source = AlertSourceFactory(channel=channel, kind="jiankongbao")
    fields = load_fixture("jiankongbao/firing")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/push/{source.token}",
            data=urlencode(fields),
            content_type="application/x-www-form-urlencoded",
        )

    assert response.status_code == 200, response.json()
    alert = Alert.objects.get()
    assert (alert.alert_key, alert.status) == ("jiankongbao:316540", Alert.Status.FIRING)
    assert alert.description == "网站不可用: HTTP 503 from 3 of 5 probes"
