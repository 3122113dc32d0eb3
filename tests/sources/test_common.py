from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.sources.common import (
    at,
    clean_annotations,
    clean_labels,
    embedded_json,
    get_list,
    get_str,
    map_severity,
    merge_extra_labels,
    optional_link,
    parse_epoch_time,
    parse_images,
    parse_links,
    parse_time,
    require_object,
    severity_from_table,
    to_text,
    truncate,
    truncated_alerts,
)
from oncall.events import (
    MAX_LABEL_VALUE_CHARS,
    MAX_LABELS,
    Image,
    Link,
    PayloadError,
    Severity,
)

# --- map_severity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    [
        "critical",
        "crit",
        "disaster",
        "fatal",
        "emergency",
        "alert",
        "page",
        "high",
        "error",
        "p0",
        "p1",
    ],
)
def test_it_maps_urgent_words_to_critical(word):
    assert map_severity(word) == Severity.CRITICAL


@pytest.mark.parametrize(
    "word", ["warning", "warn", "major", "medium", "minor", "average", "p2", "p3"]
)
def test_it_maps_middling_words_to_warning(word):
    assert map_severity(word, default=Severity.INFO) == Severity.WARNING


@pytest.mark.parametrize(
    "word",
    ["info", "informational", "information", "notice", "low", "ok", "none", "p4", "p5"],
)
def test_it_maps_mild_words_to_info(word):
    assert map_severity(word) == Severity.INFO


def test_it_maps_severity_words_case_insensitively_and_ignores_blanks():
    assert map_severity("  CRITICAL ") == Severity.CRITICAL
    assert map_severity("Warn") == Severity.WARNING
    assert map_severity("P4") == Severity.INFO


@pytest.mark.parametrize("raw", [None, "", "   ", "sev-unknown", "严重", {"level": 1}, ["high"]])
def test_it_maps_missing_or_unknown_severity_to_warning_by_default(raw):
    assert map_severity(raw) == Severity.WARNING


def test_it_maps_unknown_severity_to_the_given_default():
    assert map_severity("whatever", default=Severity.CRITICAL) == Severity.CRITICAL
    assert map_severity(None, default=Severity.INFO) == Severity.INFO


def test_it_maps_a_numeric_severity_by_its_text():
    assert map_severity(0, default=Severity.INFO) == Severity.INFO
    assert map_severity(1) == Severity.WARNING


# --- paths, types, strings --------------------------------------------------------------------


def test_it_builds_field_paths_for_keys_and_indexes():
    assert at(None, "title") == "title"
    assert at("alerts", 2) == "alerts[2]"
    assert at("alerts[2]", "labels") == "alerts[2].labels"
    assert at(at(at("alerts", 0), "labels"), "severity") == "alerts[0].labels.severity"


def test_it_renders_non_strings_as_compact_json_and_keeps_unicode():
    assert to_text("值 🚀") == "值 🚀"
    assert to_text(0.75) == "0.75"
    assert to_text(True) == "true"
    assert to_text(None) == "null"
    assert to_text({"b": [1, 2], "a": "é"}) == '{"a":"é","b":[1,2]}'


def test_it_rejects_a_non_object_where_an_object_is_needed():
    with pytest.raises(PayloadError) as excinfo:
        require_object(["a"], None)
    assert excinfo.value.field is None
    assert excinfo.value.message == "the payload must be a JSON object, not an array"


def test_it_returns_an_empty_string_for_a_missing_optional_string():
    assert get_str({}, "text", field="text") == ""
    assert get_str({"text": None}, "text", field="text") == ""


def test_it_rejects_a_missing_required_string():
    with pytest.raises(PayloadError) as excinfo:
        get_str({}, "summary", field="payload.summary", required=True)
    assert excinfo.value.field == "payload.summary"
    assert excinfo.value.message == "payload.summary is required"


def test_it_rejects_a_blank_required_string():
    with pytest.raises(PayloadError) as excinfo:
        get_str({"source": " \t"}, "source", field="payload.source", required=True)
    assert excinfo.value.field == "payload.source"
    assert excinfo.value.message == "payload.source must not be empty"


def test_it_rejects_a_string_field_of_another_type():
    with pytest.raises(PayloadError) as excinfo:
        get_str({"title": 12}, "title", field="title")
    assert excinfo.value.field == "title"
    assert excinfo.value.message == "title must be a string, not a number"


def test_it_rejects_a_string_longer_than_its_limit():
    with pytest.raises(PayloadError) as excinfo:
        get_str({"key": "abcdef"}, "key", field="key", max_chars=5)
    assert excinfo.value.field == "key"
    assert excinfo.value.message == "key is 6 characters long; at most 5 are allowed"


def test_it_rejects_a_list_field_of_another_type():
    assert get_list({}, "alerts", field="alerts") == []
    with pytest.raises(PayloadError) as excinfo:
        get_list({"alerts": "none"}, "alerts", field="alerts")
    assert excinfo.value.field == "alerts"
    assert excinfo.value.message == "alerts must be an array, not a string"


def test_it_truncates_long_text_with_an_ellipsis_to_exactly_the_limit():
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"
    assert truncate("0123456789abc", 10) == "012345678…"
    assert len(truncate("告警" * 100, 7)) == 7


# --- labels -----------------------------------------------------------------------------------


def test_it_accepts_string_labels_as_they_are():
    labels = {"服务": "支付 🚀", "env": "prod"}
    assert clean_labels(labels, field="labels") == labels


def test_it_treats_missing_labels_as_none():
    assert clean_labels(None, field="labels") == {}


def test_it_rejects_labels_that_are_not_an_object():
    with pytest.raises(PayloadError) as excinfo:
        clean_labels(["a=b"], field="alerts[0].labels", lenient=True)
    assert excinfo.value.field == "alerts[0].labels"
    assert excinfo.value.message == (
        "alerts[0].labels must be an object of string values, not an array"
    )


def test_it_rejects_a_number_label_value_in_strict_mode():
    with pytest.raises(PayloadError) as excinfo:
        clean_labels({"port": 443}, field="labels")
    assert excinfo.value.field == "labels.port"
    assert excinfo.value.message == "labels.port must be a string, not a number"


def test_it_coerces_scalar_label_values_to_text_in_lenient_mode():
    labels = clean_labels({"port": 443, "ratio": 0.5, "canary": False}, field="l", lenient=True)
    assert labels == {"port": "443", "ratio": "0.5", "canary": "false"}


@pytest.mark.parametrize(("value", "kind"), [(None, "null"), ({"a": 1}, "an object")])
def test_it_rejects_non_scalar_label_values_even_in_lenient_mode(value, kind):
    with pytest.raises(PayloadError) as excinfo:
        clean_labels({"team": value}, field="labels", lenient=True)
    assert excinfo.value.field == "labels.team"
    assert excinfo.value.message == f"labels.team must be a string, not {kind}"


def test_it_accepts_exactly_the_maximum_number_of_labels():
    labels = {f"k{i}": "v" for i in range(MAX_LABELS)}
    assert clean_labels(labels, field="labels") == labels


def test_it_rejects_more_than_the_maximum_number_of_labels():
    with pytest.raises(PayloadError) as excinfo:
        clean_labels({f"k{i}": "v" for i in range(MAX_LABELS + 1)}, field="labels", lenient=True)
    assert excinfo.value.field == "labels"
    assert excinfo.value.message == "labels has 51 labels; at most 50 are allowed"


def test_it_rejects_a_label_key_longer_than_128_characters():
    with pytest.raises(PayloadError) as excinfo:
        clean_labels({"k" * 129: "v"}, field="labels", lenient=True)
    assert excinfo.value.field == "labels"
    assert "label key of 129 characters" in excinfo.value.message
    assert "at most 128 are allowed" in excinfo.value.message


def test_it_rejects_an_empty_label_key():
    with pytest.raises(PayloadError) as excinfo:
        clean_labels({"": "v"}, field="labels")
    assert excinfo.value.field == "labels"
    assert excinfo.value.message == "labels has an empty label key"


def test_it_rejects_a_long_label_value_in_strict_mode():
    with pytest.raises(PayloadError) as excinfo:
        clean_labels({"stack": "x" * 2049}, field="labels")
    assert excinfo.value.field == "labels.stack"
    assert excinfo.value.message == (
        "labels.stack is 2049 characters long; at most 2048 are allowed in a label value"
    )


def test_it_truncates_a_long_label_value_in_lenient_mode():
    labels = clean_labels({"stack": "x" * 5000}, field="labels", lenient=True)
    assert len(labels["stack"]) == MAX_LABEL_VALUE_CHARS
    assert labels["stack"].endswith("x…")


def test_it_reads_annotations_without_a_count_or_length_limit():
    raw = {f"a{i}": "y" * 3000 for i in range(60)} | {"count": 3}
    annotations = clean_annotations(raw, field="annotations")
    assert len(annotations) == 61
    assert annotations["a0"] == "y" * 3000
    assert annotations["count"] == "3"


def test_it_rejects_an_annotation_value_that_is_not_text():
    with pytest.raises(PayloadError) as excinfo:
        clean_annotations({"summary": ["a"]}, field="alerts[1].annotations")
    assert excinfo.value.field == "alerts[1].annotations.summary"
    assert excinfo.value.message == "alerts[1].annotations.summary must be a string, not an array"


def test_it_merges_extra_labels_without_overriding_reserved_skipped_or_existing_ones():
    merged = merge_extra_labels(
        {"team": "blue"},
        {"team": "red", "owner": "ann", "summary": "s", "__panelId__": "4", "k" * 129: "v"},
        skip=["summary"],
    )
    assert merged == {"team": "blue", "owner": "ann"}


def test_it_merges_extra_labels_only_into_free_slots():
    labels = {f"k{i}": "v" for i in range(MAX_LABELS - 1)}
    merged = merge_extra_labels(labels, {"first": "1", "second": "2"})
    assert len(merged) == MAX_LABELS
    assert merged["first"] == "1"
    assert "second" not in merged


# --- times ------------------------------------------------------------------------------------


def test_it_parses_rfc3339_times_with_nanoseconds():
    assert parse_time("2024-05-14T08:21:43.514863872Z", field="t") == datetime(
        2024, 5, 14, 8, 21, 43, 514863, tzinfo=UTC
    )


def test_it_parses_iso8601_times_with_offsets():
    parsed = parse_time("2021-10-12T09:51:03.157076+02:00", field="t")
    assert parsed == datetime(2021, 10, 12, 9, 51, 3, 157076, tzinfo=timezone(timedelta(hours=2)))
    assert parse_time("2015-07-17T08:42:58.315+0000", field="t") == datetime(
        2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC
    )


def test_it_takes_a_time_without_offset_as_utc():
    assert parse_time("2024-05-14T10:00:00", field="t") == datetime(2024, 5, 14, 10, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", "0001-01-01T00:00:00Z"])
def test_it_reads_missing_empty_and_zero_times_as_unset(raw):
    assert parse_time(raw, field="t") is None


def test_it_rejects_a_time_that_is_not_iso8601():
    with pytest.raises(PayloadError) as excinfo:
        parse_time("yesterday", field="alerts[0].startsAt")
    assert excinfo.value.field == "alerts[0].startsAt"
    assert excinfo.value.message == (
        "alerts[0].startsAt is not an ISO-8601 / RFC 3339 time: 'yesterday'"
    )


def test_it_rejects_a_time_that_is_not_a_string():
    with pytest.raises(PayloadError) as excinfo:
        parse_time(1715673600, field="payload.timestamp")
    assert excinfo.value.field == "payload.timestamp"
    assert (
        excinfo.value.message == "payload.timestamp must be an ISO-8601 time string, not a number"
    )


# --- links and images -------------------------------------------------------------------------


def test_it_parses_links_and_images():
    links = parse_links(
        [{"href": "https://a.example/x", "text": "X"}, {"href": "http://b"}], field="links"
    )
    assert links == (Link("https://a.example/x", "X"), Link("http://b", ""))
    images = parse_images(
        [{"src": "https://img/1.png", "alt": "graph", "href": "https://d"}], field="images"
    )
    assert images == (Image("https://img/1.png", "graph", "https://d"),)


def test_it_rejects_a_link_that_is_not_http():
    with pytest.raises(PayloadError) as excinfo:
        parse_links([{"href": "https://ok"}, {"href": "javascript:alert(1)"}], field="links")
    assert excinfo.value.field == "links[1].href"
    assert (
        excinfo.value.message == "links[1].href must be an http(s) URL, not 'javascript:alert(1)'"
    )


def test_it_rejects_an_image_link_that_is_not_http():
    with pytest.raises(PayloadError) as excinfo:
        parse_images([{"src": "https://ok/1.png", "href": "data:text/html,hi"}], field="images")
    assert excinfo.value.field == "images[0].href"
    assert excinfo.value.message == "images[0].href must be an http(s) URL, not 'data:text/html,hi'"


def test_it_keeps_a_sender_url_only_when_it_is_http():
    assert optional_link("https://g/x", "Rule") == (Link("https://g/x", "Rule"),)
    assert optional_link("", "Rule") == ()
    assert optional_link(None, "Rule") == ()
    assert optional_link("/relative/path", "Rule") == ()


# --- batches ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "count"),
    [
        ({"truncatedAlerts": 4}, 4),
        ({"truncatedAlerts": 0}, 0),
        ({}, 0),
        ({"truncatedAlerts": "4"}, 0),
        ({"truncatedAlerts": True}, 0),
        ({"truncatedAlerts": -1}, 0),
        ([{"truncatedAlerts": 4}], 0),
    ],
)
def test_it_reads_the_truncated_alerts_count_leniently(payload, count):
    assert truncated_alerts(payload) == count


# --- Cloud-vendor helpers: severity_from_table, parse_epoch_time, embedded_json ---

HUAWEI_LTS_TABLE = (("Critical", Severity.CRITICAL), ("Major", Severity.WARNING))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Major", Severity.WARNING),
        (" major ", Severity.WARNING),
        ("CRITICAL", Severity.CRITICAL),
        ("Minor", Severity.INFO),
        (None, Severity.INFO),
        (["Major"], Severity.INFO),
        (True, Severity.INFO),
    ],
)
def test_table_severity_reads_the_table_case_insensitively(raw, expected):
    assert severity_from_table(raw, HUAWEI_LTS_TABLE, default=Severity.INFO) == expected


def test_table_severity_reads_numbers_by_their_text():
    assert severity_from_table(8, (("8", Severity.CRITICAL),)) == Severity.CRITICAL
    assert severity_from_table(3, (("8", Severity.CRITICAL),)) == Severity.WARNING


@pytest.mark.parametrize(
    "raw",
    [1795406400, 1795406400000, "1795406400", "1795406400000", 1795406400.0],
)
def test_parse_epoch_time_tells_seconds_from_milliseconds(raw):
    assert parse_epoch_time(raw, field="t") == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", 0, "0", -5])
def test_parse_epoch_time_reads_nothing_as_not_set(raw):
    assert parse_epoch_time(raw, field="t") is None


@pytest.mark.parametrize("raw", ["soon", True, {"s": 1}, 10**20])
def test_parse_epoch_time_refuses_what_is_not_a_time(raw):
    with pytest.raises(PayloadError) as refused:
        parse_epoch_time(raw, field="alerts[0].time")
    assert refused.value.field == "alerts[0].time"


def test_embedded_json_decodes_text_and_passes_objects_through():
    assert embedded_json('{"host": "a"}', field="m") == {"host": "a"}
    assert embedded_json({"host": "a"}, field="m") == {"host": "a"}
    with pytest.raises(PayloadError) as refused:
        embedded_json("{broken", field="message")
    assert refused.value.field == "message"
