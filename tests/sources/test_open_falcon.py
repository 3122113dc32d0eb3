"""Open-Falcon's alarm callback: fields through the parser, and form pushes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from integrations.sources.open_falcon import parser as falcon
from integrations.sources.open_falcon.source import OpenFalconSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from oncall.models import Alert, InboundEvent, Incident, RefusedPush
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


# --- GET callbacks: falcon-plus's alarm module (cron/callback.go) calls with GET ---------------


def _get(client, capture, url, fields):
    with capture(execute=True):
        return client.get(url, data=fields)


@pytest.mark.django_db
def test_get_callbacks_open_an_incident_and_ok_resolves_it(
    client, django_capture_on_commit_callbacks, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="open_falcon")
    url = f"/push/{source.token}"

    response = _get(
        client, django_capture_on_commit_callbacks, url, load_fixture("open_falcon/firing")
    )

    assert response.status_code == 200, response.json()
    assert response.json()["alert_keys"] == [KEY]
    alert = Alert.objects.get()
    assert (alert.alert_key, alert.status, alert.severity) == (KEY, "firing", "critical")
    assert Incident.objects.get().channel == channel
    [stored] = InboundEvent.objects.get().events
    assert stored["event"]["labels"]["endpoint"] == "web-03.bj"

    recovered = load_fixture("open_falcon/recovered")
    response = _get(client, django_capture_on_commit_callbacks, url, recovered)

    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_get_callback_with_the_token_in_the_query_stores_no_token(
    client, django_capture_on_commit_callbacks, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="open_falcon")
    fields = {"integration_key": source.token, **load_fixture("open_falcon/firing")}

    response = _get(client, django_capture_on_commit_callbacks, "/push/", fields)

    assert response.status_code == 200, response.json()
    assert Alert.objects.get().alert_key == KEY
    assert source.token not in json.dumps(InboundEvent.objects.get().events)


@pytest.mark.django_db
def test_a_bad_get_callback_is_a_400_kept_without_the_token(client, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="open_falcon")
    fields = {"integration_key": source.token, **load_fixture("open_falcon/bad_status")}

    response = client.get("/push/", data=fields)

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "status"
    refused = RefusedPush.objects.get()
    assert "status=ALARM" in refused.payload
    assert source.token not in refused.payload
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_unstorable_text_in_a_get_callback_is_replaced_and_noted(
    client, django_capture_on_commit_callbacks, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="open_falcon")
    fields = {**load_fixture("open_falcon/firing"), "endpoint": "web\x00-03"}

    response = _get(client, django_capture_on_commit_callbacks, f"/push/{source.token}", fields)

    assert response.status_code == 200, response.json()
    assert Alert.objects.get().labels["endpoint"] == "web\ufffd-03"
    assert "endpoint" in response.json()["notes"][0]


@pytest.mark.django_db
def test_a_get_callback_longer_than_the_body_limit_is_refused_with_414(
    client, settings, channel, load_fixture
):
    settings.PUSH_MAX_BODY_BYTES = 1024
    source = AlertSourceFactory(channel=channel, kind="open_falcon")
    fields = {**load_fixture("open_falcon/firing"), "tags": "k:" + "v" * 1024}

    response = client.get(f"/push/{source.token}", data=fields)

    assert response.status_code == 414
    assert response.json()["error"] == {
        "code": "query_too_long",
        "message": "The query string is longer than 1024 bytes.",
    }
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_a_get_with_no_fields_is_still_refused_with_405(client, channel):
    source = AlertSourceFactory(channel=channel, kind="open_falcon")

    for url in (f"/push/{source.token}", f"/push/?integration_key={source.token}"):
        response = client.get(url)

        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_a_get_with_fields_on_a_kind_without_get_bodies_answers_405(client, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="alertmanager")

    response = client.get(f"/push/{source.token}", data=load_fixture("open_falcon/firing"))

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert not InboundEvent.objects.exists()


def test_the_core_names_no_kind_for_get_callbacks():
    core = Path(__file__).resolve().parents[2] / "oncall"
    for module in (core / "views" / "push.py", core / "sources.py"):
        text = module.read_text(encoding="utf-8")

        assert "open_falcon" not in text
        assert "integrations.sources" not in text
