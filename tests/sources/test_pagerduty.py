from __future__ import annotations

import copy
import re
from datetime import UTC, datetime

import pytest

from integrations.sources.pagerduty import parser as pagerduty
from integrations.sources.pagerduty.source import PagerDutySource
from oncall.events import (
    MAX_TITLE_CHARS,
    AcceptResult,
    EventKind,
    Image,
    Link,
    PayloadError,
    Severity,
)


def test_it_has_a_human_label():
    assert PagerDutySource.label == "PagerDuty Events API v2"


def test_it_reads_a_trigger_event(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/trigger"))

    assert event.alert_key == "srv01/mysql-replication-lag"
    assert event.kind == EventKind.FIRING
    assert event.title == "Example alert on host1.example.com"
    assert event.description == ""
    assert event.severity == Severity.INFO
    assert event.raw_severity == "info"
    assert event.starts_at == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert event.ends_at is None


def test_it_turns_payload_fields_and_custom_details_into_labels(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/trigger"))

    assert event.labels == {
        "ping time": "1500ms",
        "load avg": "0.75",
        "source": (
            "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003"
        ),
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "deploy",
    }


def test_it_keeps_links_images_and_the_client_link(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/trigger"))

    assert event.links == (
        Link("https://example.com/", "Link text"),
        Link("https://monitoring.example.com", "Sample Monitoring Service"),
    )
    assert event.images == (
        Image(
            "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
            "Example text",
            "https://example.com/",
        ),
    )


def test_it_generates_a_random_dedup_key_for_a_trigger_without_one(load_fixture):
    payload = load_fixture("pagerduty/trigger_without_dedup_key")

    [first] = pagerduty.parse(payload)
    [second] = pagerduty.parse(payload)

    assert re.fullmatch(r"[0-9a-f]{32}", first.alert_key)
    assert first.alert_key != second.alert_key


def test_it_reads_a_minimal_trigger_and_maps_error_to_critical(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/trigger_minimal"))

    assert event.severity == Severity.CRITICAL
    assert event.raw_severity == "error"
    assert event.labels == {"source": "web-3.example.org"}
    assert event.links == ()
    assert event.images == ()
    assert event.starts_at is None


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("critical", Severity.CRITICAL),
        ("error", Severity.CRITICAL),
        ("warning", Severity.WARNING),
        ("info", Severity.INFO),
    ],
)
def test_it_maps_pagerduty_severities(word, severity, load_fixture):
    payload = load_fixture("pagerduty/trigger_minimal")
    payload["payload"]["severity"] = word

    [event] = pagerduty.parse(payload)

    assert event.severity == severity
    assert event.raw_severity == word


def test_it_flattens_custom_details_to_compact_json_labels(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/trigger_custom_details"))

    assert event.labels == {
        "source": "checkout-api",
        "p99_ms": "2431",
        "healthy": "false",
        "owner": "null",
        "regions": '["eu-west-1","us-east-1"]',
        "thresholds": '{"crit":3000,"warn":1500}',
        "note": "cart 🛒 größer",
        "component": "api",
    }


def test_it_keeps_text_custom_details_as_one_label(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/trigger_string_custom_details"))

    assert event.labels == {
        "custom_details": "PING CRITICAL - Packet loss = 100%",
        "source": "gw-1",
    }
    assert event.severity == Severity.CRITICAL


def test_it_truncates_long_custom_detail_values(load_fixture):
    payload = load_fixture("pagerduty/trigger_minimal")
    payload["payload"]["custom_details"] = {"firing": "alert text " * 500}

    [event] = pagerduty.parse(payload)

    assert len(event.labels["firing"]) == 2048
    assert event.labels["firing"].endswith("…")


def test_it_keeps_unicode_untouched(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/trigger_unicode"))

    assert event.alert_key == "订单服务-超时"
    assert event.title == "🚨 订单服务调用库存服务超时"
    assert event.labels == {
        "影响范围": "华东用户下单失败",
        "超时率": "12.5%",
        "source": "订单服务-prod-1",
        "group": "交易链路",
    }
    assert event.links == (
        Link("https://wiki.example.cn/应急预案/订单", "应急预案"),
        Link("https://n9e.example.cn/alert-cur-events", "夜莺监控"),
    )


def test_it_puts_a_summary_too_long_for_a_title_into_the_description(load_fixture):
    payload = load_fixture("pagerduty/trigger_minimal")
    summary = "概" * 1024
    payload["payload"]["summary"] = summary

    [event] = pagerduty.parse(payload)

    assert event.title == "概" * (MAX_TITLE_CHARS - 1) + "…"
    assert event.description == summary


def test_it_reads_an_acknowledge_event(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/acknowledge"))

    assert event.alert_key == "srv01/mysql-replication-lag"
    assert event.kind == EventKind.ACKNOWLEDGED
    assert event.title == "srv01/mysql-replication-lag"
    assert event.severity == Severity.INFO
    assert event.labels == {}


def test_it_reads_a_resolve_event(load_fixture):
    [event] = pagerduty.parse(load_fixture("pagerduty/resolve"))

    assert event.alert_key == "srv01/mysql-replication-lag"
    assert event.kind == EventKind.RESOLVED
    assert event.severity == Severity.INFO


def test_it_ignores_the_payload_of_a_resolve_event(load_fixture):
    payload = load_fixture("pagerduty/trigger")
    payload["event_action"] = "resolve"
    payload["payload"] = {"severity": "nonsense"}

    [event] = pagerduty.parse(payload)

    assert event.kind == EventKind.RESOLVED
    assert event.severity == Severity.INFO


def test_it_reads_the_event_action_case_insensitively(load_fixture):
    payload = load_fixture("pagerduty/resolve")
    payload["event_action"] = "Resolve"

    [event] = pagerduty.parse(payload)

    assert event.kind == EventKind.RESOLVED


def test_it_accepts_a_routing_key_of_any_length(load_fixture):
    payload = load_fixture("pagerduty/trigger_minimal")
    payload["routing_key"] = "short"

    assert len(pagerduty.parse(payload)) == 1


def test_it_does_not_change_the_payload(load_fixture):
    payload = load_fixture("pagerduty/trigger_custom_details")
    before = copy.deepcopy(payload)

    pagerduty.parse(payload)

    assert payload == before


def test_it_answers_202_like_pagerduty(load_fixture):
    events = pagerduty.parse(load_fixture("pagerduty/trigger_without_dedup_key"))
    result = AcceptResult(request_id="req-9", events=events, unrouted=[events[0].alert_key])

    status, body = PagerDutySource().accepted_answer(result)

    assert status == 202
    assert body == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": events[0].alert_key,
        "request_id": "req-9",
        "unrouted": [events[0].alert_key],
    }


def test_it_answers_an_invalid_event_like_pagerduty():
    status, body = PagerDutySource().invalid_answer(
        PayloadError("payload.summary is required", field="payload.summary")
    )

    assert status == 400
    assert body == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["payload.summary is required"],
    }


INVALID_CASES = {
    "invalid_not_an_object": (None, "the payload must be a JSON object, not an array"),
    "invalid_missing_routing_key": ("routing_key", "routing_key is required"),
    "invalid_empty_routing_key": ("routing_key", "routing_key must not be empty"),
    "invalid_missing_event_action": ("event_action", "event_action is required"),
    "invalid_bad_event_action": (
        "event_action",
        "event_action must be one of trigger, acknowledge or resolve, not 'escalate'",
    ),
    "invalid_acknowledge_without_dedup_key": (
        "dedup_key",
        "dedup_key is required to acknowledge an alert",
    ),
    "invalid_resolve_without_dedup_key": (
        "dedup_key",
        "dedup_key is required to resolve an alert",
    ),
    "invalid_dedup_key_too_long": (
        "dedup_key",
        "dedup_key is 256 characters long; at most 255 are allowed",
    ),
    "invalid_dedup_key_not_string": ("dedup_key", "dedup_key must be a string, not a number"),
    "invalid_trigger_without_payload": ("payload", "payload is required to trigger an alert"),
    "invalid_payload_not_object": ("payload", "payload must be a JSON object, not a string"),
    "invalid_missing_summary": ("payload.summary", "payload.summary is required"),
    "invalid_summary_too_long": (
        "payload.summary",
        "payload.summary is 1025 characters long; at most 1024 are allowed",
    ),
    "invalid_missing_source": ("payload.source", "payload.source is required"),
    "invalid_missing_severity": ("payload.severity", "payload.severity is required"),
    "invalid_bad_severity": (
        "payload.severity",
        "payload.severity must be one of critical, error, warning or info, not 'major'",
    ),
    "invalid_bad_timestamp": (
        "payload.timestamp",
        "payload.timestamp is not an ISO-8601 / RFC 3339 time: '17/07/2015 08:42'",
    ),
    "invalid_component_not_string": (
        "payload.component",
        "payload.component must be a string, not an array",
    ),
    "invalid_too_many_custom_details": (
        "payload.custom_details",
        "payload.custom_details with source, component, group and class make 52 labels; "
        "at most 50 are allowed",
    ),
    "invalid_custom_details_key_too_long": (
        "payload.custom_details",
        "label key of 129 characters",
    ),
    "invalid_link_without_href": ("links[0].href", "links[0].href is required"),
    "invalid_image_without_src": ("images[0].src", "images[0].src is required"),
    "invalid_image_not_web_url": (
        "images[0].src",
        "images[0].src must be an http(s) URL, not 'javascript:alert(1)'",
    ),
    "invalid_links_not_array": ("links", "links must be an array, not an object"),
    "invalid_client_url_not_web_url": (
        "client_url",
        "client_url must be an http(s) URL, not 'monitoring.example.com'",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_CASES))
def test_it_rejects_an_invalid_event_saying_what_is_wrong(case, load_fixture):
    field, message = INVALID_CASES[case]
    payload = load_fixture(f"pagerduty/{case}")

    with pytest.raises(PayloadError) as excinfo:
        pagerduty.parse(payload)

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_invalid_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("pagerduty", "invalid_") == sorted(INVALID_CASES)
