"""Open-Falcon's alarm callback: fields through the parser, and form pushes."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from integrations.sources.open_falcon import parser as falcon
from integrations.sources.open_falcon.source import OpenFalconSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from oncall.models import Alert, Incident
from oncall.sources import PushRequest
from tests.factories import AlertSourceFactory

KEY = stable_key("open-falcon", "208", "web-03.bj", "cpu.idle", [("core", "all"), ("idc", "bj")])


def test_a_problem_fires_keyed_by_strategy_and_series(load_fixture):
    [event] = falcon.parse(load_fixture("open_falcon/firing"))

    assert (event.alert_key, event.kind) == (KEY, EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "1")
    assert event.title == "cpu.idle on web-03.bj"
    assert event.description == "Value: 3.12\nStep: 1\nTime: 2024-05-14 09:51"
    assert event.labels == {
        "core": "all",
        "idc": "bj",
        "endpoint": "web-03.bj",
        "metric": "cpu.idle",
        "priority": "1",
    }


def test_ok_resolves_the_same_alert(load_fixture):
    [event] = falcon.parse(load_fixture("open_falcon/recovered"))

    assert (event.alert_key, event.kind) == (KEY, EventKind.RESOLVED)


@pytest.mark.parametrize(("priority", "severity"), OpenFalconSource.severity_table)
def test_it_maps_each_priority_of_the_knowledge_base_table(priority, severity, load_fixture):
    payload = load_fixture("open_falcon/firing")
    payload["priority"] = priority

    [event] = falcon.parse(payload)

    assert event.severity == severity


def test_the_table_has_priorities_zero_to_six():
    assert [row[0] for row in OpenFalconSource.severity_table] == [str(n) for n in range(7)]
    assert [row[1] for row in OpenFalconSource.severity_table] == [Severity.CRITICAL] * 2 + [
        Severity.WARNING
    ] * 2 + [Severity.INFO] * 3


def test_an_expression_alarm_with_numbers_is_keyed_by_its_expression(load_fixture):
    [event] = falcon.parse(load_fixture("open_falcon/expression_numbers"))

    assert event.alert_key == stable_key("open-falcon", "7", "mysql-01", "mysql.slave_lag", [])
    assert (event.severity, event.raw_severity) == (Severity.INFO, "4")
    assert event.description == "Value: 42\nStep: 3\nTime: 2024-05-14 09:55"


def test_the_query_string_fills_in_the_fields(load_fixture):
    query = {"integration_key": "T0KEN", **load_fixture("open_falcon/firing")}

    [event] = OpenFalconSource().parse_push({}, PushRequest({}, query, {}, "", b""))

    assert event.alert_key == KEY
    assert "integration_key" not in event.labels


BAD_CASES = {
    "bad_status": ("status", "status must be PROBLEM or OK, not 'ALARM'"),
    "bad_no_endpoint": ("endpoint", "endpoint is required"),
    "bad_tags_not_string": ("tags", "tags must be a string, not an array"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        falcon.parse(load_fixture(f"open_falcon/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("open_falcon", "bad_") == sorted(BAD_CASES)


def test_it_recognises_its_fields_only(load_fixture):
    assert falcon.recognises(load_fixture("open_falcon/firing"))
    assert not falcon.recognises(load_fixture("zabbix/firing"))


def _post_form(client, capture, source, fields):
    with capture(execute=True):
        return client.post(
            f"/push/{source.token}",
            data=urlencode(fields),
            content_type="application/x-www-form-urlencoded",
        )


@pytest.mark.django_db
def test_form_pushes_open_an_incident_and_ok_resolves_it(
    client, django_capture_on_commit_callbacks, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="open_falcon")

    response = _post_form(
        client, django_capture_on_commit_callbacks, source, load_fixture("open_falcon/firing")
    )
    assert response.status_code == 200
    alert = Alert.objects.get()
    assert (alert.alert_key, alert.status, Incident.objects.count()) == (KEY, "firing", 1)

    _post_form(
        client, django_capture_on_commit_callbacks, source, load_fixture("open_falcon/recovered")
    )
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_form_push_is_a_400_naming_the_field(
    client, django_capture_on_commit_callbacks, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="open_falcon")

    response = _post_form(
        client, django_capture_on_commit_callbacks, source, load_fixture("open_falcon/bad_status")
    )

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "status"
