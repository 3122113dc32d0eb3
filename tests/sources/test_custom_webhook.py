"""The custom webhook: a mapping (``AlertSource.options``) reads any JSON into events; a
mapping is checked when saved, and one that fails on a body refuses it naming its field."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from integrations.sources.custom_webhook import sandbox
from integrations.sources.custom_webhook.forms import MappingForm
from integrations.sources.custom_webhook.source import CustomWebhookSource, example_options
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.sources import PushRequest

SOURCE = CustomWebhookSource()


def parse(payload, **changes):
    options = SOURCE.clean_options({**example_options(), **changes})
    return SOURCE.parse_push(payload, PushRequest.bare(options))


def refusal(payload, **changes) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        parse(payload, **changes)
    return caught.value


def problems(**changes) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        SOURCE.clean_options({**example_options(), **changes})
    return caught.value.messages


# --- mapping a sample --------------------------------------------------------------------------


def test_it_splits_a_batch_into_one_event_per_element(load_fixture):
    events = parse(load_fixture("custom_webhook/firing"))

    assert [event.alert_key for event in events] == ["chk-41", "chk-77"]
    assert [event.title for event in events] == ["Checkout API latency", "Search index freshness"]
    assert events[0].description == "p95 latency 2.4 s over the last 5 minutes (threshold 1 s)"
    assert all(event.kind == EventKind.FIRING for event in events)


def test_it_takes_labels_from_the_body_and_the_mapping(load_fixture):
    first = parse(load_fixture("custom_webhook/firing"))[0]

    assert first.labels == {
        "origin": "edge-probe",
        "target": "https://shop.example.com/api/checkout",
        "team": "payments",
        "region": "eu-west",
        "attempts": "3",
    }


def test_labels_written_in_the_mapping_win_over_the_bodys():
    body = {"origin": "probe", "results": [{"check": {"name": "x"}, "tags": {"origin": "tag"}}]}
    unset = {"results": [{"check": {"name": "x"}, "tags": {"origin": "tag"}}]}

    assert parse(body)[0].labels["origin"] == "probe"
    # A written label whose template renders nothing is left out, and the body's stays.
    assert parse(unset)[0].labels == {"origin": "tag"}


def test_it_takes_links_and_skips_blank_urls(load_fixture):
    first, second = parse(load_fixture("custom_webhook/firing"))

    assert first.links == (
        Link("https://probe.example.com/checks/chk-41", "Check"),
        Link("https://wiki.example.com/runbooks/checkout-latency", "Runbook"),
    )
    assert second.links == (Link("https://probe.example.com/checks/chk-77", "Check"),)


@pytest.mark.parametrize(
    ("sent", "severity"),
    [("P1", "critical"), ("P2", "critical"), ("p3", "warning"), ("P4", "info")],
)
def test_the_sources_severity_table_maps_each_value(sent, severity):
    body = {"results": [{"check": {"name": "x"}, "priority": sent}]}

    [event] = parse(body)

    assert event.severity == Severity(severity)
    assert event.raw_severity == sent


def test_a_value_outside_the_table_falls_back_to_common_words_then_the_default():
    common = {"results": [{"check": {"name": "x"}, "priority": "Critical"}]}
    unknown = {"results": [{"check": {"name": "x"}, "priority": "sev-9"}]}

    assert parse(common)[0].severity == Severity.CRITICAL
    assert parse(unknown, default_severity="info")[0].severity == Severity.INFO


def test_a_recovery_value_resolves_in_any_case(load_fixture):
    [event] = parse(load_fixture("custom_webhook/recovered"))

    assert event.kind == EventKind.RESOLVED
    assert event.alert_key == "chk-41"


def test_recovery_values_are_the_sources_own():
    body = {"results": [{"check": {"name": "x"}, "state": "CLEARED"}]}

    assert parse(body)[0].kind == EventKind.FIRING
    assert parse(body, recovery_values=["cleared"])[0].kind == EventKind.RESOLVED


def test_sparse_fields_give_the_default_severity_and_nested_labels_as_text(load_fixture):
    [event] = parse(load_fixture("custom_webhook/sparse_fields"))

    assert event.severity == Severity.WARNING
    assert event.title == "Nightly backup 备份 did not report"
    assert event.labels == {"origin": "edge-probe", "owner": '{"oncall":"rota-b","team":"storage"}'}
    assert event.links == ()


def test_without_a_key_template_the_identity_is_the_title_and_labels():
    firing = {"results": [{"check": {"name": "x"}, "state": "FAILING", "tags": {"a": "1"}}]}
    recovered = {"results": [{"check": {"name": "x"}, "state": "passing", "tags": {"a": "1"}}]}

    [fired] = parse(firing, alert_key="")
    [resolved] = parse(recovered, alert_key="")

    assert fired.alert_key == resolved.alert_key
    assert len(fired.alert_key) == 32


def test_without_an_alerts_expression_the_body_is_one_alert():
    body = {"name": "Disk full", "host": "db-1", "level": "high", "status": "ok"}

    [event] = parse(
        body,
        alerts="",
        title="{{ alert.name }} on {{ body.host }}",
        alert_key="{{ alert.host }}",
        severity="{{ alert.level }}",
        severity_map={},
        status="{{ alert.status }}",
        recovery_values=["ok"],
        labels="{'host': alert.host}",
        extra_labels={},
        links="",
    )

    assert (event.title, event.alert_key, event.severity) == (
        "Disk full on db-1",
        "db-1",
        "critical",
    )
    assert event.kind == EventKind.RESOLVED
    assert event.labels == {"host": "db-1"}


def test_a_single_object_where_the_batch_should_be_is_one_alert():
    body = {"results": {"check_id": "solo", "check": {"name": "Solo"}}}

    assert [event.alert_key for event in parse(body)] == ["solo"]


def test_an_empty_batch_is_nothing_to_act_on():
    assert parse({"results": []}) == []


def test_the_default_mapping_reads_a_plain_object():
    body = {"title": "Queue stuck", "severity": "P1", "status": "firing", "labels": {"q": "jobs"}}

    [event] = SOURCE.parse(body)

    assert (event.title, event.severity, event.labels) == ("Queue stuck", "critical", {"q": "jobs"})


# --- push-time refusals name the mapping's field ------------------------------------------------


def test_a_body_without_the_batch_is_refused_naming_the_alerts_expression(load_fixture):
    error = refusal(load_fixture("custom_webhook/bad_no_results"))

    assert error.field == "mapping.alerts"
    assert "gives null" in error.message


def test_labels_that_are_not_an_object_are_refused_naming_labels(load_fixture):
    error = refusal(load_fixture("custom_webhook/bad_tags_not_object"))

    assert error.field == "mapping.labels"
    assert "an array" in error.message


def test_an_empty_title_is_refused_naming_the_alert():
    body = {"results": [{"check": {"name": "ok"}}, {"check": {}}]}

    error = refusal(body)

    assert error.field == "mapping.title"
    assert "(alert 2 of 2)" in error.message


def test_a_failing_filter_is_refused_naming_its_field():
    error = refusal(
        {"results": [{"check": {"name": "x"}}]}, description="{{ alert.check|int + 'a' }}"
    )

    assert error.field == "mapping.description"


def test_links_of_the_wrong_shape_are_refused():
    error = refusal({"results": [{"check": {"name": "x"}}]}, links="[1, 2]")

    assert error.field == "mapping.links"


def test_a_too_long_alert_key_is_refused():
    error = refusal({"results": [{"check": {"name": "x"}, "check_id": "k" * 300}]})

    assert error.field == "mapping.alert_key"


# --- limits ------------------------------------------------------------------------------------


def test_nested_loops_stop_at_the_time_limit(monkeypatch):
    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 0.2)
    loops = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"
    began = time.monotonic()

    error = refusal({"results": [{"check": {"name": "x"}}]}, description=loops)

    assert time.monotonic() - began < 2
    assert error.field == "mapping.description"
    assert "longer than" in error.message


def test_loops_over_a_variable_are_bounded_too(monkeypatch):
    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 0.2)
    loops = (
        "{% set l = range(3000)|list %}"
        "{% for a in l %}{% for b in l %}{% for c in l %}{% endfor %}{% endfor %}{% endfor %}"
    )

    error = refusal({"results": [{"check": {"name": "x"}}]}, description=loops)

    assert "longer than" in error.message


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' * 100000000 }}",
        "{{ 2 ** 100000 }}",
        "{{ range(1000000)|list|length }}",
        "{{ alert.check.name|replace('', 'y' * 9000) * 200 }}",
        "{% for i in range(9000) %}{{ 'abcdefghij' }}{% endfor %}",
    ],
)
def test_values_and_output_are_bounded_in_size(template):
    error = refusal({"results": [{"check": {"name": "x"}}]}, description=template)

    assert error.field == "mapping.description"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ ''.__class__.__subclasses__() }}", "'__class__' of 'str' object is unsafe"),
        ("{{ alert.check.name.ljust(100000000) }}", "'ljust' of 'str' object is unsafe"),
        ("{{ '{:>100000000}'.format(1) }}", "'format' of 'str' object is unsafe"),
        ("{{ '%s' % alert }}", "'%' formatting of strings is not available"),
    ],
)
def test_the_sandbox_refuses_what_reaches_into_python(template, reason):
    error = refusal({"results": [{"check": {"name": "x"}}]}, description=template)

    assert error.field == "mapping.description"
    assert reason in error.message


def test_a_private_attribute_is_undefined_and_renders_nothing():
    [event] = parse({"results": [{"check": {"name": "x"}}]}, description="{{ alert.__class__ }}")

    assert event.description == ""


# --- checks when the mapping is saved ------------------------------------------------------------


def test_the_example_mapping_is_valid_and_filled_in():
    cleaned = SOURCE.clean_options(example_options())

    assert cleaned["title"] == "{{ alert.check.name }}"
    assert cleaned["recovery_values"] == ["passing"]


def test_empty_options_get_the_default_mapping():
    assert SOURCE.clean_options({})["labels"] == "alert.labels"
    assert SOURCE.clean_options(SOURCE.default_options()) == SOURCE.default_options()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"title": "{{ alert.name }"}, "title: template syntax error at line 1: unexpected '}'"),
        ({"title": "  "}, "title: is required: every alert needs a title"),
        ({"title": 7}, "title: must be a string, not a number"),
        ({"description": "a\n{% if %}"}, "description: template syntax error at line 2"),
        ({"status": "{% include 'x' %}"}, "status: template syntax error at line 1: {% include %}"),
        ({"severity": "{% extends 'x' %}"}, "{% extends %} is not available"),
        ({"alert_key": "{% import 'x' as y %}"}, "{% import %} is not available"),
        (
            {"title": "{% for x in y recursive %}{% endfor %}"},
            "recursive loops are not available",
        ),
        ({"alerts": "body.alerts }}"}, "alerts: expression syntax error at line 1"),
        ({"labels": "alert.labels +"}, "labels: expression syntax error"),
        ({"links": "[alert.url"}, "links: expression syntax error"),
        ({"title": "x" * 5000}, "title: is 5000 characters long; at most 4000 are allowed"),
        ({"severity_map": {"P1": "urgent"}}, "severity_map: 'P1' maps to 'urgent'"),
        ({"severity_map": ["P1"]}, "severity_map: must be an object, not an array"),
        ({"severity_map": {"": "info"}}, "severity_map: sender values must be 1 to 200"),
        ({"default_severity": "high"}, "default_severity: must be one of critical, warning"),
        ({"recovery_values": "ok"}, "recovery_values: must be a list of strings"),
        ({"recovery_values": ["ok", 1]}, "recovery_values: must be a list of strings"),
        ({"extra_labels": ["a"]}, "extra_labels: must be an object, not an array"),
        ({"extra_labels": {"team": "{{ x "}}, "extra_labels.team: template syntax error"),
        ({"extra_labels": {"": "x"}}, "extra_labels: label names must be 1 to 128"),
        ({"description": "{{ 'x'|center(99) }}"}, "No filter named 'center'"),
        ({"colour": "red"}, "colour: is not a field of a custom webhook mapping"),
    ],
)
def test_every_mapping_problem_is_refused_with_its_field_and_reason(changes, expected):
    messages = problems(**changes)

    assert any(message.startswith(expected) or expected in message for message in messages), (
        messages
    )


def test_options_that_are_not_an_object_are_refused():
    with pytest.raises(ValidationError) as caught:
        SOURCE.clean_options(["title"])

    assert caught.value.messages == ["options: must be a JSON object, not an array"]


def test_all_problems_are_reported_at_once():
    messages = problems(title="{{", links="[", default_severity="x")

    assert [message.split(":")[0] for message in messages] == ["title", "links", "default_severity"]


# --- the admin's plain fields ------------------------------------------------------------------


def test_the_plain_fields_round_trip_the_options():
    options = SOURCE.clean_options(example_options())

    initial = MappingForm.initial_from(options)

    assert initial["severity_map"] == "P1 = critical\nP2 = critical\nP3 = warning\nP4 = info"
    assert initial["recovery_values"] == "passing"
    assert MappingForm.options_from(initial) == options


def test_the_plain_fields_name_the_field_at_fault():
    values = MappingForm.initial_from(example_options())
    values.update(title="{{ x", severity_map="P1 critical", extra_labels="a = {{ b")

    with pytest.raises(ValidationError) as caught:
        MappingForm.options_from(values)

    errors = caught.value.message_dict
    assert errors["title"] == [
        "template syntax error at line 1: unexpected end of template, "
        "expected 'end of print statement'."
    ]
    assert errors["severity_map"] == ["line 1: write it as name = value"]
    assert errors["extra_labels"][0].startswith("a: template syntax error")


def test_expressions_may_filter_the_batch_and_the_links():
    body = {
        "results": [
            {"check": {"name": "a"}, "state": "FAILING", "dashboard": "https://x.example/a"},
            {"check": {"name": "b"}, "state": "SKIPPED"},
        ]
    }

    [event] = parse(
        body,
        alerts="body.results|rejectattr('state', 'equalto', 'SKIPPED')",
        links="[alert]|map(attribute='dashboard')",
    )

    assert event.title == "a"
    assert event.links == (Link("https://x.example/a"),)
