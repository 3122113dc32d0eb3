from __future__ import annotations

import copy

import pytest

from integrations.sources.standard import parser as standard
from integrations.sources.standard.source import StandardSource
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AcceptResult,
    EventKind,
    Image,
    Link,
    PayloadError,
    Severity,
    stable_key,
)


def test_it_has_a_human_label():
    assert StandardSource.label == "Standard alert event"


def test_it_reads_a_firing_event(load_fixture):
    [event] = standard.parse(load_fixture("standard/firing"))

    assert event.alert_key == "checkout-error-rate"
    assert event.kind == EventKind.FIRING
    assert event.severity == Severity.CRITICAL
    assert event.raw_severity == "Critical"
    assert event.title == "checkout: error rate 7.3% on web-3.example.org"
    assert event.description == "The 5xx rate of checkout has been above 5% for 10 minutes."
    assert event.labels == {
        "service": "checkout",
        "host": "web-3.example.org",
        "error_rate": "7.3%",
        "env": "prod",
    }
    assert event.links == (Link("https://runbooks.example.org/checkout-5xx", "Runbook"),)
    assert event.images == (
        Image(
            "https://grafana.example.org/render/d-solo/checkout.png",
            "5xx rate",
            "https://grafana.example.org/d/checkout",
        ),
    )
    assert event.starts_at is None
    assert event.ends_at is None


def test_it_resolves_on_an_ok_status(load_fixture):
    [event] = standard.parse(load_fixture("standard/resolved"))

    assert event.alert_key == "checkout-error-rate"
    assert event.kind == EventKind.RESOLVED
    assert event.severity == Severity.INFO
    assert event.raw_severity == "Ok"
    assert event.title == "checkout: error rate 0.2% on web-3.example.org"


@pytest.mark.parametrize(
    ("status", "severity"),
    [
        ("critical", Severity.CRITICAL),
        ("WARNING", Severity.WARNING),
        ("Info", Severity.INFO),
        ("ok", Severity.INFO),
    ],
)
def test_it_reads_the_event_status_case_insensitively(status, severity, load_fixture):
    payload = load_fixture("standard/firing")
    payload["event_status"] = status

    [event] = standard.parse(payload)

    assert event.severity == severity
    assert event.raw_severity == status
    assert event.kind == (EventKind.RESOLVED if status == "ok" else EventKind.FIRING)


def test_it_generates_a_key_from_the_title_and_labels_when_none_is_given(load_fixture):
    [event] = standard.parse(load_fixture("standard/firing_without_alert_key"))

    assert event.alert_key == stable_key(
        "Disk /var/lib/postgresql almost full on db-1",
        {"host": "db-1", "mount": "/var/lib/postgresql"},
    )
    assert event.severity == Severity.WARNING
    assert event.raw_severity == "warning"


def test_it_resolves_a_keyless_alert_sent_again_with_the_same_title_and_labels(load_fixture):
    [firing] = standard.parse(load_fixture("standard/firing_without_alert_key"))
    [resolved] = standard.parse(load_fixture("standard/resolved_without_alert_key"))

    assert resolved.kind == EventKind.RESOLVED
    assert resolved.alert_key == firing.alert_key
    assert resolved.description == "Back under 80%."


def test_it_gives_a_keyless_alert_with_other_labels_another_key(load_fixture):
    payload = load_fixture("standard/firing_without_alert_key")
    [first] = standard.parse(payload)
    payload["labels"]["host"] = "db-2"

    [second] = standard.parse(payload)

    assert second.alert_key != first.alert_key


def test_it_treats_a_blank_alert_key_as_missing(load_fixture):
    payload = load_fixture("standard/firing_without_alert_key")
    [without] = standard.parse(payload)
    payload["alert_key"] = "  "

    [blank] = standard.parse(payload)

    assert blank.alert_key == without.alert_key


def test_it_accepts_a_plain_title_and_keeps_a_dollar_before_a_digit(load_fixture):
    [event] = standard.parse(load_fixture("standard/title_only"))

    assert event.title == "Nightly backup finished: $5 of storage used"
    assert event.severity == Severity.INFO
    assert event.kind == EventKind.FIRING
    assert event.labels == {}
    assert event.description == ""
    assert event.links == ()
    assert event.images == ()


def test_it_prefers_title_rule_over_title(load_fixture):
    payload = load_fixture("standard/firing")
    payload["title"] = "ignored"

    [event] = standard.parse(payload)

    assert event.title == "checkout: error rate 7.3% on web-3.example.org"


def test_it_renders_missing_labels_as_empty_text(load_fixture):
    [event] = standard.parse(load_fixture("standard/missing_labels"))

    assert event.title == "Queue  is backing up on "
    assert event.labels == {}
    assert event.severity == Severity.WARNING


@pytest.mark.parametrize(
    ("rule", "title"),
    [
        ("$a-$b", "1-2"),
        ("${a}${b}", "12"),
        ("$a_b", ""),
        ("${a}_b", "1_b"),
        ("${k8s.pod} on $a", "api-0 on 1"),
        ("$a::$b", "1::2"),
        ("cost $ and $$a", "cost $ and $1"),
        ("${} and ${missing}", " and "),
    ],
)
def test_it_replaces_dollar_placeholders_with_label_values(rule, title):
    assert standard.render_title(rule, {"a": "1", "b": "2", "k8s.pod": "api-0"}) == title


def test_it_keeps_unicode_untouched(load_fixture):
    payload = load_fixture("standard/unicode")
    [event] = standard.parse(payload)

    assert event.title == "🔥 支付网关 在 cn-east-1 的错误率过高"
    assert event.description == payload["description"]
    assert event.description.endswith("华东用户下单失败 🚨")
    assert event.labels == {"服务": "支付网关", "region": "cn-east-1", "负责人": "张三 👩‍💻"}
    assert event.links == (Link("https://wiki.example.cn/应急预案", "应急预案"),)


def test_it_truncates_a_long_title_and_description(load_fixture):
    payload = load_fixture("standard/title_only")
    payload["title"] = "t" * (MAX_TITLE_CHARS * 2)
    payload["description"] = "描" * (MAX_DESCRIPTION_CHARS + 1)

    [event] = standard.parse(payload)

    assert event.title == "t" * (MAX_TITLE_CHARS - 1) + "…"
    assert event.description == "描" * (MAX_DESCRIPTION_CHARS - 1) + "…"


def test_it_accepts_an_alert_key_of_255_characters(load_fixture):
    payload = load_fixture("standard/firing")
    payload["alert_key"] = "k" * 255

    [event] = standard.parse(payload)

    assert event.alert_key == "k" * 255


def test_it_accepts_a_label_value_of_2048_characters(load_fixture):
    payload = load_fixture("standard/firing")
    payload["labels"]["stack"] = "s" * 2048

    [event] = standard.parse(payload)

    assert event.labels["stack"] == "s" * 2048


def test_it_does_not_change_the_payload(load_fixture):
    payload = load_fixture("standard/firing")
    before = copy.deepcopy(payload)

    standard.parse(payload)

    assert payload == before


def test_it_answers_with_the_alert_key(load_fixture):
    events = standard.parse(load_fixture("standard/firing_without_alert_key"))
    result = AcceptResult(request_id="req-1", events=events, unrouted=[], notes=["a note"])

    status, body = StandardSource().accepted_answer(result)

    assert status == 200
    assert body == {
        "request_id": "req-1",
        "alert_key": events[0].alert_key,
        "accepted": 1,
        "unrouted": [],
        "notes": ["a note"],
    }


def test_it_does_not_count_an_unrouted_event_as_accepted(load_fixture):
    events = standard.parse(load_fixture("standard/firing"))
    result = AcceptResult(request_id="req-2", events=events, unrouted=["checkout-error-rate"])

    status, body = StandardSource().accepted_answer(result)

    assert status == 200
    assert body["unrouted"] == ["checkout-error-rate"]
    assert body["alert_key"] == "checkout-error-rate"
    assert body["accepted"] == 0


def test_it_answers_an_invalid_payload_with_the_consoles_error():
    status, body = StandardSource().invalid_answer(
        PayloadError("event_status is required", field="event_status")
    )

    assert status == 400
    assert body == {
        "error": {
            "code": "invalid_payload",
            "message": "event_status is required",
            "field": "event_status",
        }
    }


INVALID_CASES = {
    "invalid_not_an_object": (None, "the payload must be a JSON object, not a string"),
    "invalid_missing_event_status": ("event_status", "event_status is required"),
    "invalid_bad_event_status": (
        "event_status",
        "event_status must be one of Critical, Warning, Info or Ok, not 'Major'",
    ),
    "invalid_event_status_not_string": (
        "event_status",
        "event_status must be a string, not a number",
    ),
    "invalid_missing_title": ("title_rule", "title_rule (or title) is required"),
    "invalid_title_not_string": ("title_rule", "title_rule must be a string, not an object"),
    "invalid_blank_title": ("title_rule", "title_rule must not be empty"),
    "invalid_title_renders_empty": ("title_rule", "title_rule renders to an empty title"),
    "invalid_alert_key_too_long": (
        "alert_key",
        "alert_key is 256 characters long; at most 255 are allowed",
    ),
    "invalid_alert_key_not_string": ("alert_key", "alert_key must be a string, not a number"),
    "invalid_labels_not_object": (
        "labels",
        "labels must be an object of string values, not an array",
    ),
    "invalid_label_value_not_string": ("labels.port", "labels.port must be a string, not a number"),
    "invalid_too_many_labels": ("labels", "labels has 51 labels; at most 50 are allowed"),
    "invalid_label_key_too_long": ("labels", "label key of 129 characters"),
    "invalid_label_value_too_long": (
        "labels.stack",
        "labels.stack is 2049 characters long; at most 2048 are allowed in a label value",
    ),
    "invalid_empty_label_key": ("labels", "labels has an empty label key"),
    "invalid_description_not_string": (
        "description",
        "description must be a string, not an array",
    ),
    "invalid_links_not_array": ("links", "links must be an array, not a string"),
    "invalid_link_without_href": ("links[0].href", "links[0].href is required"),
    "invalid_link_not_web_url": (
        "links[0].href",
        "links[0].href must be an http(s) URL, not 'javascript:alert(document.cookie)'",
    ),
    "invalid_image_without_src": ("images[0].src", "images[0].src is required"),
    "invalid_image_not_object": (
        "images[0]",
        "images[0] must be a JSON object, not a string",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_CASES))
def test_it_rejects_an_invalid_payload_saying_what_is_wrong(case, load_fixture):
    field, message = INVALID_CASES[case]
    payload = load_fixture(f"standard/{case}")

    with pytest.raises(PayloadError) as excinfo:
        standard.parse(payload)

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_invalid_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("standard", "invalid_") == sorted(INVALID_CASES)


def test_it_names_a_missing_title_field_when_only_title_is_blank(load_fixture):
    payload = load_fixture("standard/title_only")
    payload["title"] = ""

    with pytest.raises(PayloadError) as excinfo:
        standard.parse(payload)

    assert excinfo.value.field == "title"
    assert excinfo.value.message == "title must not be empty"
