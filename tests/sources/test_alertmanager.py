from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.sources.alertmanager import parser as alertmanager
from integrations.sources.alertmanager.source import AlertmanagerSource
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_TITLE_CHARS,
    EventKind,
    Link,
    PayloadError,
    Severity,
    stable_key,
)


def test_it_has_a_human_label():
    assert AlertmanagerSource.label == "Prometheus Alertmanager"


def test_it_reads_a_firing_alert(load_fixture):
    [event] = alertmanager.parse(load_fixture("alertmanager/firing"))

    assert event.alert_key == "1a30ba71cca2921f"
    assert event.kind == EventKind.FIRING
    assert event.title == "Probe failed: https://shop.example.org"
    assert event.description == (
        "https://shop.example.org has been unreachable for more than 5 minutes."
    )
    assert event.severity == Severity.CRITICAL
    assert event.raw_severity == "critical"
    assert event.starts_at == datetime(2024, 5, 14, 8, 21, 43, 514863, tzinfo=UTC)
    assert event.ends_at is None
    assert event.images == ()


def test_it_keeps_labels_and_adds_the_unused_annotations(load_fixture):
    [event] = alertmanager.parse(load_fixture("alertmanager/firing"))

    assert event.labels == {
        "alertname": "ProbeFailure",
        "instance": "https://shop.example.org",
        "job": "blackbox_http",
        "env": "prod",
        "severity": "critical",
        "owner": "web-team",
    }


def test_it_links_the_generator_runbook_and_dashboard(load_fixture):
    [event] = alertmanager.parse(load_fixture("alertmanager/firing"))

    assert event.links == (
        Link(
            "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1",
            "Source",
        ),
        Link("https://runbooks.example.org/probe-failure", "Runbook"),
        Link("https://grafana.example.org/d/blackbox/probes", "Dashboard"),
    )


def test_it_reads_a_resolved_alert_with_its_end_time(load_fixture):
    [event] = alertmanager.parse(load_fixture("alertmanager/resolved"))

    assert event.alert_key == "1a30ba71cca2921f"
    assert event.kind == EventKind.RESOLVED
    assert event.severity == Severity.CRITICAL
    assert event.starts_at == datetime(2024, 5, 14, 8, 21, 43, 514863, tzinfo=UTC)
    assert event.ends_at == datetime(2024, 5, 14, 8, 46, 43, 514863, tzinfo=UTC)


def test_it_ignores_the_end_time_of_a_firing_alert(load_fixture):
    payload = load_fixture("alertmanager/firing")
    payload["alerts"][0]["endsAt"] = "2024-05-14T08:25:43Z"

    [event] = alertmanager.parse(payload)

    assert event.ends_at is None


def test_it_reads_one_event_per_alert_of_a_mixed_batch(load_fixture):
    firing, resolved = alertmanager.parse(load_fixture("alertmanager/mixed_batch"))

    assert (firing.alert_key, firing.kind, firing.severity) == (
        "5c9a7d1e2f3b4a60",
        EventKind.FIRING,
        Severity.WARNING,
    )
    assert firing.title == "Disk /var/lib/postgresql on db-1 will fill within 4 hours"
    assert firing.labels["mountpoint"] == "/var/lib/postgresql"
    assert (resolved.alert_key, resolved.kind, resolved.severity) == (
        "0f0e0d0c0b0a0908",
        EventKind.RESOLVED,
        Severity.INFO,
    )
    assert resolved.title == "Load average is high on db-1"
    assert resolved.description == ""
    assert resolved.ends_at == datetime(2024, 5, 14, 9, 5, tzinfo=timezone(timedelta(hours=2)))


def test_it_maps_missing_severity_label_to_warning(load_fixture):
    first, _ = alertmanager.parse(load_fixture("alertmanager/missing_labels"))

    assert first.severity == Severity.WARNING
    assert first.raw_severity == ""


def test_it_falls_back_to_the_alertname_when_there_is_no_summary(load_fixture):
    first, _ = alertmanager.parse(load_fixture("alertmanager/missing_labels"))

    assert first.title == "InstanceDown"


def test_it_uses_the_message_annotation_when_there_is_no_description(load_fixture):
    first, _ = alertmanager.parse(load_fixture("alertmanager/missing_labels"))

    assert first.description == "10.0.3.7:9100 has been down for 1 minute."
    assert "message" not in first.labels


def test_it_titles_an_alert_without_summary_or_alertname_alert(load_fixture):
    _, second = alertmanager.parse(load_fixture("alertmanager/missing_labels"))

    assert second.title == "Alert"
    assert second.description == ""
    assert second.labels == {"job": "batch", "instance": "cron-2"}


def test_it_keys_an_alert_without_fingerprint_by_its_sorted_labels(load_fixture):
    first, second = alertmanager.parse(load_fixture("alertmanager/missing_labels"))

    assert first.alert_key == stable_key(
        [("alertname", "InstanceDown"), ("instance", "10.0.3.7:9100"), ("job", "node")]
    )
    assert second.alert_key == stable_key([("instance", "cron-2"), ("job", "batch")])


def test_it_gives_the_same_key_to_the_same_labels_in_any_order(load_fixture):
    payload = load_fixture("alertmanager/missing_labels")
    reordered = copy.deepcopy(payload)
    reordered["alerts"][0]["labels"] = dict(reversed(payload["alerts"][0]["labels"].items()))
    reordered["alerts"][0]["status"] = "resolved"

    assert alertmanager.parse(payload)[0].alert_key == alertmanager.parse(reordered)[0].alert_key


def test_it_leaves_out_empty_generator_urls(load_fixture):
    first, second = alertmanager.parse(load_fixture("alertmanager/missing_labels"))

    assert first.links == ()
    assert second.links == ()


def test_it_keeps_unicode_untouched(load_fixture):
    payload = load_fixture("alertmanager/unicode")
    [event] = alertmanager.parse(payload)

    assert event.title == "🔥 支付网关 5xx 错误率超过 5%"
    assert event.description == payload["alerts"][0]["annotations"]["description"]
    assert event.description.startswith("过去 5 分钟内错误率为 7.3%")
    assert event.description.endswith("请值班同学立即处理 🚨")
    assert event.labels == {
        "alertname": "支付网关错误率过高",
        "服务": "支付网关",
        "机房": "上海-浦东",
        "severity": "P1",
        "负责人": "张三",
    }
    assert event.severity == Severity.CRITICAL
    assert event.raw_severity == "P1"
    assert event.starts_at == datetime(2024, 5, 14, 10, tzinfo=UTC)


def test_it_reads_every_alert_of_a_truncated_batch(load_fixture):
    payload = load_fixture("alertmanager/truncated")

    events = alertmanager.parse(payload)

    assert [event.alert_key for event in events] == ["aaaa000000000001", "aaaa000000000002"]
    assert alertmanager.truncated_count(payload) == 3


def test_it_counts_no_truncated_alerts_when_the_batch_is_whole(load_fixture):
    assert alertmanager.truncated_count(load_fixture("alertmanager/firing")) == 0
    assert alertmanager.truncated_count({"alerts": []}) == 0
    assert alertmanager.truncated_count("not a payload") == 0


def test_it_truncates_long_label_values_instead_of_rejecting_them(load_fixture):
    [event] = alertmanager.parse(load_fixture("alertmanager/long_label_value"))

    assert len(event.labels["query"]) == MAX_LABEL_VALUE_CHARS
    assert event.labels["query"] == "x" * (MAX_LABEL_VALUE_CHARS - 1) + "…"


def test_it_coerces_number_and_boolean_label_values_to_text(load_fixture):
    [event] = alertmanager.parse(load_fixture("alertmanager/numeric_label_values"))

    assert event.labels["port"] == "443"
    assert event.labels["ratio"] == "0.5"
    assert event.labels["canary"] == "true"


def test_it_truncates_long_titles_and_descriptions(load_fixture):
    payload = load_fixture("alertmanager/firing")
    payload["alerts"][0]["annotations"]["summary"] = "标" * (MAX_TITLE_CHARS + 10)
    payload["alerts"][0]["annotations"]["description"] = "d" * (MAX_DESCRIPTION_CHARS + 10)

    [event] = alertmanager.parse(payload)

    assert event.title == "标" * (MAX_TITLE_CHARS - 1) + "…"
    assert len(event.description) == MAX_DESCRIPTION_CHARS


def test_it_never_lets_an_annotation_replace_a_label(load_fixture):
    payload = load_fixture("alertmanager/firing")
    payload["alerts"][0]["annotations"]["severity"] = "info"
    payload["alerts"][0]["annotations"]["env"] = "staging"

    [event] = alertmanager.parse(payload)

    assert event.labels["severity"] == "critical"
    assert event.labels["env"] == "prod"
    assert event.severity == Severity.CRITICAL


def test_it_copies_annotations_only_into_free_label_slots(load_fixture):
    payload = load_fixture("alertmanager/firing")
    payload["alerts"][0]["labels"].update({f"extra_{i:02d}": "x" for i in range(44)})

    [event] = alertmanager.parse(payload)

    assert len(event.labels) == 50
    assert event.labels["owner"] == "web-team"
    payload["alerts"][0]["annotations"]["zz_late"] = "no room"
    assert "zz_late" not in alertmanager.parse(payload)[0].labels


def test_it_does_not_change_the_payload(load_fixture):
    payload = load_fixture("alertmanager/mixed_batch")
    before = copy.deepcopy(payload)

    alertmanager.parse(payload)

    assert payload == before


INVALID_CASES = {
    "invalid_not_an_object": (None, "the payload must be a JSON object, not an array"),
    "invalid_missing_alerts": ("alerts", "alerts is required"),
    "invalid_empty_alerts": ("alerts", "alerts is empty: there is no alert to accept"),
    "invalid_alerts_not_array": ("alerts", "alerts must be an array, not an object"),
    "invalid_alert_not_object": ("alerts[1]", "alerts[1] must be a JSON object, not a string"),
    "invalid_status": (
        "alerts[1].status",
        "alerts[1].status must be 'firing' or 'resolved', not 'pending'",
    ),
    "invalid_missing_status": ("alerts[0].status", "alerts[0].status is required"),
    "invalid_labels_not_object": (
        "alerts[1].labels",
        "alerts[1].labels must be an object of string values, not an array",
    ),
    "invalid_label_value_not_string": (
        "alerts[0].labels.team",
        "alerts[0].labels.team must be a string, not an array",
    ),
    "invalid_too_many_labels": (
        "alerts[0].labels",
        "alerts[0].labels has 51 labels; at most 50 are allowed",
    ),
    "invalid_label_key_too_long": ("alerts[0].labels", "label key of 129 characters"),
    "invalid_annotations_not_object": (
        "alerts[0].annotations",
        "alerts[0].annotations must be an object of string values, not a string",
    ),
    "invalid_starts_at": (
        "alerts[0].startsAt",
        "alerts[0].startsAt is not an ISO-8601 / RFC 3339 time: 'yesterday at noon'",
    ),
    "invalid_fingerprint_type": (
        "alerts[0].fingerprint",
        "alerts[0].fingerprint must be a string, not a number",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_CASES))
def test_it_rejects_an_invalid_payload_saying_what_is_wrong(case, load_fixture):
    field, message = INVALID_CASES[case]
    payload = load_fixture(f"alertmanager/{case}")

    with pytest.raises(PayloadError) as excinfo:
        alertmanager.parse(payload)

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_invalid_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("alertmanager", "invalid_") == sorted(INVALID_CASES)


@pytest.mark.parametrize("payload", [None, "alerts", 4, 2.5, True])
def test_it_rejects_a_payload_that_is_not_an_object(payload):
    with pytest.raises(PayloadError) as excinfo:
        alertmanager.parse(payload)

    assert excinfo.value.field is None
    assert excinfo.value.message.startswith("the payload must be a JSON object, not ")
