from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.sources.grafana import parser as grafana
from integrations.sources.grafana.source import GrafanaSource
from oncall.events import EventKind, Image, Link, PayloadError, Severity, stable_key

G = "https://grafana.example.org"
CEST = timezone(timedelta(hours=2))


def test_it_has_a_human_label():
    assert GrafanaSource.label == "Grafana"


# --- Unified alerting -------------------------------------------------------------------------


def test_it_reads_one_event_per_unified_alert(load_fixture):
    memory, cpu = grafana.parse(load_fixture("grafana/unified_firing"))

    assert (memory.alert_key, memory.kind, memory.severity, memory.raw_severity) == (
        "c6eadffa33fcdf37",
        EventKind.FIRING,
        Severity.CRITICAL,
        "critical",
    )
    assert memory.title == "Memory usage above 90% in zone us-1"
    assert memory.starts_at == datetime(2024, 5, 14, 9, 51, 3, 157076, tzinfo=CEST)
    assert memory.ends_at is None
    assert (cpu.alert_key, cpu.kind, cpu.severity) == (
        "bc97ff14869b13e3",
        EventKind.FIRING,
        Severity.WARNING,
    )
    assert cpu.title == "CPU usage above 80% in zone eu-1"


def test_it_appends_the_query_values_to_the_description(load_fixture):
    memory, cpu = grafana.parse(load_fixture("grafana/unified_firing"))

    assert memory.description == (
        "The system has high memory usage\n\nValues: B=44.23943737541908, C=1"
    )
    assert cpu.description == "The system has high CPU usage\n\nValues: B=82.5, C=1"


def test_it_keeps_query_values_out_of_the_labels(load_fixture):
    memory, _ = grafana.parse(load_fixture("grafana/unified_firing"))

    assert memory.labels == {
        "alertname": "High memory usage",
        "grafana_folder": "Infra",
        "team": "blue",
        "zone": "us-1",
        "severity": "critical",
        "team_channel": "#blue-oncall",
    }


def test_it_links_dashboard_panel_silence_rule_and_runbook(load_fixture):
    memory, _ = grafana.parse(load_fixture("grafana/unified_firing"))

    assert memory.links == (
        Link(f"{G}/d/mem-overview?orgId=1", "Dashboard"),
        Link(f"{G}/d/mem-overview?orgId=1&viewPanel=4", "Panel"),
        Link(
            f"{G}/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHigh+memory+usage"
            "&matcher=team%3Dblue&matcher=zone%3Dus-1&orgId=1",
            "Silence",
        ),
        Link(f"{G}/alerting/grafana/1afz29v7z/view?orgId=1", "Rule"),
        Link("https://runbooks.example.org/memory", "Runbook"),
    )


def test_it_leaves_out_the_empty_dashboard_and_panel_urls(load_fixture):
    _, cpu = grafana.parse(load_fixture("grafana/unified_firing"))

    assert [link.text for link in cpu.links] == ["Silence", "Rule"]


def test_it_attaches_the_screenshot_as_an_image(load_fixture):
    memory, cpu = grafana.parse(load_fixture("grafana/unified_firing"))

    assert memory.images == (Image(f"{G}/public/img/attachments/mem-overview-4.png"),)
    assert cpu.images == ()


def test_it_reads_a_resolved_unified_alert(load_fixture):
    [event] = grafana.parse(load_fixture("grafana/unified_resolved"))

    assert event.alert_key == "c6eadffa33fcdf37"
    assert event.kind == EventKind.RESOLVED
    assert event.ends_at == datetime(2024, 5, 14, 10, 21, 3, 157076, tzinfo=CEST)
    assert event.description.endswith("Values: B=12.5, C=0")


def test_it_reads_a_mixed_unified_batch(load_fixture):
    events = grafana.parse(load_fixture("grafana/unified_mixed_batch"))

    assert [(e.alert_key, e.kind) for e in events] == [
        ("c6eadffa33fcdf37", EventKind.FIRING),
        ("bc97ff14869b13e3", EventKind.RESOLVED),
    ]
    assert events[1].ends_at == datetime(2024, 5, 14, 10, 1, 3, tzinfo=UTC)


def test_it_maps_missing_severity_label_to_warning(load_fixture):
    for event in grafana.parse(load_fixture("grafana/unified_missing_labels")):
        assert event.severity == Severity.WARNING
        assert event.raw_severity == ""


def test_it_titles_a_unified_alert_by_alertname_then_grafana_alert(load_fixture):
    no_data, nothing = grafana.parse(load_fixture("grafana/unified_missing_labels"))

    assert no_data.title == "DatasourceNoData"
    assert nothing.title == "Grafana alert"


def test_it_falls_back_to_the_value_string_when_there_are_no_values(load_fixture):
    no_data, nothing = grafana.parse(load_fixture("grafana/unified_missing_labels"))

    assert no_data.description == "Value: [ no data ]"
    assert nothing.description == ""


def test_it_keys_a_unified_alert_without_fingerprint_by_its_labels(load_fixture):
    no_data, nothing = grafana.parse(load_fixture("grafana/unified_missing_labels"))

    assert no_data.alert_key == stable_key(
        [
            ("alertname", "DatasourceNoData"),
            ("grafana_folder", "Infra"),
            ("rulename", "Queue depth"),
        ]
    )
    assert nothing.alert_key == stable_key([])
    assert nothing.links == ()
    assert nothing.labels == {}


def test_it_keeps_unicode_untouched_in_unified_alerts(load_fixture):
    payload = load_fixture("grafana/unified_unicode")
    [event] = grafana.parse(payload)

    assert event.title == "⚠️ 订单库连接数超过 90%"
    description = payload["alerts"][0]["annotations"]["description"]
    assert description.endswith("请检查慢查询 🐢")
    assert event.description == f"{description}\n\nValues: 连接数=912"
    assert event.labels == {"alertname": "数据库连接数过高", "团队": "数据平台", "severity": "严重"}
    assert event.severity == Severity.WARNING
    assert event.raw_severity == "严重"
    assert event.starts_at == datetime(2024, 5, 14, 12, tzinfo=UTC)


def test_it_reads_every_alert_of_a_truncated_unified_batch(load_fixture):
    payload = load_fixture("grafana/unified_truncated")

    events = grafana.parse(payload)

    assert [e.alert_key for e in events] == ["d15c000000000001", "d15c000000000002"]
    assert [e.description for e in events] == ["Values: A=97.1", "Values: A=97.2"]
    assert grafana.truncated_count(payload) == 5


def test_it_counts_no_truncated_alerts_for_whole_and_legacy_payloads(load_fixture):
    assert grafana.truncated_count(load_fixture("grafana/unified_firing")) == 0
    assert grafana.truncated_count(load_fixture("grafana/legacy_alerting")) == 0


def test_it_truncates_long_unified_label_values(load_fixture):
    payload = load_fixture("grafana/unified_firing")
    payload["alerts"][0]["labels"]["query"] = "q" * 4000

    memory, _ = grafana.parse(payload)

    assert memory.labels["query"] == "q" * 2047 + "…"


# --- Legacy alerting --------------------------------------------------------------------------


def test_it_reads_a_legacy_alerting_notification(load_fixture):
    [event] = grafana.parse(load_fixture("grafana/legacy_alerting"))

    assert event.alert_key == "grafana:1:1:2:7"
    assert event.kind == EventKind.FIRING
    assert event.title == "Test notification"
    assert event.severity == Severity.CRITICAL
    assert event.raw_severity == "critical"
    assert event.labels == {"severity": "critical", "team": "blue"}
    assert event.starts_at is None
    assert event.ends_at is None


def test_it_lists_legacy_eval_matches_in_the_description(load_fixture):
    [event] = grafana.parse(load_fixture("grafana/legacy_alerting"))

    assert event.description == (
        "Someone is testing the alert notification within Grafana.\n"
        "High value = 100\n"
        "Higher Value = 200"
    )


def test_it_links_the_legacy_rule_and_attaches_its_image(load_fixture):
    [event] = grafana.parse(load_fixture("grafana/legacy_alerting"))

    rule_url = f"{G}/d/hZ7BuVbWz/test-dashboard?tab=alert&viewPanel=2&orgId=1"
    assert event.links == (Link(rule_url, "Rule"),)
    assert event.images == (
        Image(f"{G}/public/img/attachments/panel-2.png", "Test notification", rule_url),
    )


def test_it_resolves_a_legacy_ok_notification_with_the_same_key(load_fixture):
    [alerting] = grafana.parse(load_fixture("grafana/legacy_alerting"))
    [ok] = grafana.parse(load_fixture("grafana/legacy_ok"))

    assert ok.kind == EventKind.RESOLVED
    assert ok.alert_key == alerting.alert_key
    assert ok.title == "Test notification"
    assert ok.description == ""
    assert ok.images == ()


def test_it_fires_a_legacy_no_data_notification_as_warning(load_fixture):
    [event] = grafana.parse(load_fixture("grafana/legacy_no_data"))

    assert event.alert_key == "grafana:2:3:9:12"
    assert event.kind == EventKind.FIRING
    assert event.severity == Severity.WARNING
    assert event.raw_severity == ""
    assert event.description == "No data for queue depth\nqueue_depth = null"
    assert event.labels == {}


def test_it_lets_a_severity_tag_decide_a_legacy_no_data_severity(load_fixture):
    payload = load_fixture("grafana/legacy_no_data")
    payload["tags"] = {"severity": "critical"}

    [event] = grafana.parse(payload)

    assert event.severity == Severity.CRITICAL


@pytest.mark.parametrize("case", ["legacy_paused", "legacy_pending"])
def test_it_accepts_paused_and_pending_legacy_notifications_as_no_events(case, load_fixture):
    assert grafana.parse(load_fixture(f"grafana/{case}")) == []


def test_it_keys_a_legacy_alert_without_rule_id_by_its_rule_name(load_fixture):
    [event] = grafana.parse(load_fixture("grafana/legacy_rule_name_only"))

    assert event.alert_key == stable_key("grafana-legacy", "Login errors")
    assert event.title == "Login errors"
    assert event.severity == Severity.WARNING
    assert event.description == "errors/s = 3.5"
    assert event.links == ()


def test_it_titles_a_legacy_alert_without_rule_name_by_its_title(load_fixture):
    payload = load_fixture("grafana/legacy_alerting")
    del payload["ruleName"]

    [event] = grafana.parse(payload)

    assert event.title == "[Alerting] Test notification"
    assert event.alert_key == "grafana:1:1:2:7"


def test_it_keeps_unicode_untouched_in_legacy_alerts(load_fixture):
    [event] = grafana.parse(load_fixture("grafana/legacy_unicode"))

    assert event.title == "下单接口延迟"
    assert event.description == "下单接口延迟过高 🐌\n延迟 p99 (ms) = 42"
    assert event.labels == {"团队": "交易", "severity": "high"}
    assert event.severity == Severity.CRITICAL


def test_it_does_not_change_the_payload(load_fixture):
    for case in ("unified_mixed_batch", "legacy_alerting"):
        payload = load_fixture(f"grafana/{case}")
        before = copy.deepcopy(payload)
        grafana.parse(payload)
        assert payload == before


# --- Invalid payloads -------------------------------------------------------------------------

INVALID_CASES = {
    "invalid_not_an_object": (None, "the payload must be a JSON object, not a string"),
    "invalid_neither_shape": ("alerts", "neither unified alerting"),
    "invalid_unified_empty_alerts": ("alerts", "alerts is empty: there is no alert to accept"),
    "invalid_unified_values_not_object": (
        "alerts[1].values",
        "alerts[1].values must be a JSON object, not an array",
    ),
    "invalid_unified_bad_status": (
        "alerts[0].status",
        "alerts[0].status must be 'firing' or 'resolved', not 'alerting'",
    ),
    "invalid_unified_too_many_labels": (
        "alerts[0].labels",
        "alerts[0].labels has 51 labels; at most 50 are allowed",
    ),
    "invalid_unified_bad_ends_at": (
        "alerts[1].endsAt",
        "alerts[1].endsAt is not an ISO-8601 / RFC 3339 time: '2024-13-45T99:00:00Z'",
    ),
    "invalid_legacy_bad_state": (
        "state",
        "state must be one of alerting, no_data, ok, paused, pending, not 'firing'",
    ),
    "invalid_legacy_missing_state": ("state", "state is required"),
    "invalid_legacy_tags_not_object": (
        "tags",
        "tags must be an object of string values, not an array",
    ),
    "invalid_legacy_eval_match_not_object": (
        "evalMatches[1]",
        "evalMatches[1] must be a JSON object, not a number",
    ),
    "invalid_legacy_no_identity": (
        "ruleId",
        "ruleId or ruleName is required to identify the alert",
    ),
    "invalid_legacy_rule_id_type": ("ruleId", "ruleId must be a number, not an object"),
}


@pytest.mark.parametrize("case", sorted(INVALID_CASES))
def test_it_rejects_an_invalid_payload_saying_what_is_wrong(case, load_fixture):
    field, message = INVALID_CASES[case]
    payload = load_fixture(f"grafana/{case}")

    with pytest.raises(PayloadError) as excinfo:
        grafana.parse(payload)

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_invalid_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("grafana", "invalid_") == sorted(INVALID_CASES)
