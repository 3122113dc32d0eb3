"""The push endpoint: authentication, bad input (4xx, nothing stored), answers per sender."""

from __future__ import annotations

import json
import logging

import pytest

from oncall.models import Alert, InboundEvent, Incident
from tests import payloads
from tests.factories import AlertSourceFactory, ChannelFactory, RouteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


def nothing_stored() -> bool:
    return not (
        InboundEvent.objects.exists() or Alert.objects.exists() or Incident.objects.exists()
    )


def test_it_answers_with_a_request_id_and_the_alert_keys(push, source):
    response = push(source, payloads.alertmanager(payloads.am_alert("A"), payloads.am_alert("B")))
    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 2
    assert body["alert_keys"] == ["fp-A-db-1:9100", "fp-B-db-1:9100"]
    assert body["request_id"] == str(InboundEvent.objects.get().request_id)


def test_the_event_is_stored_before_the_answer(push, source):
    response = push(source, payloads.alertmanager(payloads.am_alert()), process=False)
    assert response.status_code == 200
    inbound = InboundEvent.objects.get()
    assert inbound.status == InboundEvent.Status.PENDING
    assert inbound.events[0]["channels"] == [source.channel_id]
    assert inbound.events[0]["event"]["alert_key"] == "fp-HighLatency-db-1:9100"


def test_an_unknown_token_is_refused(client):
    response = client.post("/push/not-a-token", data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert nothing_stored()


def test_a_rotated_token_stops_working(push, source):
    old = AlertSourceFactory.build(token=source.token)
    source.rotate_token()
    assert push(old, payloads.alertmanager(payloads.am_alert())).status_code == 401
    assert push(source, payloads.alertmanager(payloads.am_alert())).status_code == 200


def test_the_token_is_stored_encrypted(source):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM oncall_alertsource WHERE id = %s", [source.pk])
        raw = cursor.fetchone()[0]
    assert source.token not in raw
    assert raw.startswith("v1:")


def test_a_disabled_source_is_refused(push, source):
    source.enabled = False
    source.save()
    response = push(source, payloads.alertmanager(payloads.am_alert()))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "source_disabled"
    assert nothing_stored()


def test_bad_json_is_refused_with_the_reason(push, source):
    response = push(source, None, raw=b'{"alerts": [')
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert "not valid JSON" in error["message"]
    assert nothing_stored()


def test_a_body_that_is_not_utf8_is_refused(push, source):
    response = push(source, None, raw=b'{"title": "\xff\xfe"}')
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The body is not UTF-8 text."
    assert nothing_stored()


def test_a_body_over_the_limit_is_refused(push, source, settings):
    settings.PUSH_MAX_BODY_BYTES = 2048
    big = payloads.alertmanager(*(payloads.am_alert(f"A{i}") for i in range(20)))
    assert len(json.dumps(big)) > 2048
    response = push(source, big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert nothing_stored()


def test_a_field_of_the_wrong_type_is_refused_naming_the_field(push, source):
    bad = payloads.alertmanager(payloads.am_alert())
    bad["alerts"][0]["labels"] = ["not", "an", "object"]
    response = push(source, bad)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert error["field"] == "alerts[0].labels"
    assert nothing_stored()


def test_get_is_not_allowed(client, source):
    assert client.get(f"/push/{source.token}").status_code == 405


def test_pagerduty_senders_get_pagerdutys_answer(push, channel):
    source = AlertSourceFactory(channel=channel, kind="pagerduty")
    response = push(source, payloads.pagerduty("trigger", dedup_key="disk-db-1"))
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["message"], body["dedup_key"]) == (
        "success",
        "Event processed",
        "disk-db-1",
    )


def test_pagerduty_errors_come_in_pagerdutys_shape(push, channel):
    source = AlertSourceFactory(channel=channel, kind="pagerduty")
    response = push(source, {"routing_key": "x", "event_action": "explode"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid event"
    assert body["errors"]
    assert nothing_stored()


def test_pagerdutys_own_url_authenticates_by_routing_key(
    client, channel, django_capture_on_commit_callbacks
):
    source = AlertSourceFactory(channel=channel, kind="pagerduty")
    event = payloads.pagerduty("trigger", routing_key=source.token, dedup_key="k1")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/push/pagerduty/v2/enqueue", data=json.dumps(event), content_type="application/json"
        )
    assert response.status_code == 202
    assert Incident.objects.get().alerts.get().alert_key == "k1"

    event["routing_key"] = "wrong"
    response = client.post(
        "/push/pagerduty/v2/enqueue", data=json.dumps(event), content_type="application/json"
    )
    assert response.status_code == 401


def test_the_standard_protocol_returns_a_generated_alert_key(push, channel):
    source = AlertSourceFactory(channel=channel, kind="standard")
    response = push(source, payloads.standard(labels={"host": "web-1"}))
    key = response.json()["alert_key"]
    assert key
    push(source, payloads.standard(status="Ok", labels={"host": "web-1"}))
    assert Alert.objects.get().alert_key == key
    assert Incident.objects.get().status == "closed"


def test_truncated_alerts_are_noted_in_the_answer_and_the_record(push, source):
    response = push(source, payloads.alertmanager(payloads.am_alert(), truncated=3))
    assert "left out 3 alert(s)" in response.json()["notes"][0]
    assert "left out 3 alert(s)" in InboundEvent.objects.get().notes[0]


class TestSharedSources:
    @pytest.fixture
    def source(self):
        return AlertSourceFactory(channel=None)

    def test_routes_match_labels_in_order_and_stop(self, push, source):
        db, web, catch_all = ChannelFactory(), ChannelFactory(), ChannelFactory()
        RouteFactory(
            source=source,
            position=1,
            channels=[db],
            matchers=[{"key": "labels.team", "op": "eq", "value": "db"}],
        )
        RouteFactory(
            source=source,
            position=2,
            channels=[web],
            matchers=[{"key": "labels.team", "op": "re", "value": "web|frontend"}],
        )
        RouteFactory(source=source, is_default=True, channels=[catch_all])

        push(
            source,
            payloads.alertmanager(
                payloads.am_alert("A", team="db"),
                payloads.am_alert("B", team="frontend"),
                payloads.am_alert("C", team="ml"),
            ),
        )
        assert Alert.objects.get(alert_key__startswith="fp-A").channel == db
        assert Alert.objects.get(alert_key__startswith="fp-B").channel == web
        assert Alert.objects.get(alert_key__startswith="fp-C").channel == catch_all

    def test_a_continue_route_sends_to_more_channels(self, push, source):
        audit, db = ChannelFactory(), ChannelFactory()
        RouteFactory(
            source=source,
            position=1,
            channels=[audit],
            stop=False,
            matchers=[{"key": "severity", "op": "eq", "value": "critical"}],
        )
        RouteFactory(
            source=source,
            position=2,
            channels=[db],
            matchers=[{"key": "labels.team", "op": "exists"}],
        )
        push(source, payloads.alertmanager(payloads.am_alert("A", team="db")))
        assert set(Alert.objects.values_list("channel", flat=True)) == {audit.pk, db.pk}
        assert Incident.objects.count() == 2

    def test_the_default_route_is_used_only_when_nothing_matched(self, push, source):
        db, fallback = ChannelFactory(), ChannelFactory()
        RouteFactory(
            source=source,
            position=1,
            channels=[db],
            matchers=[{"key": "labels.team", "op": "neq", "value": "web"}],
        )
        RouteFactory(source=source, is_default=True, channels=[fallback])
        push(source, payloads.alertmanager(payloads.am_alert("A", team="db")))
        assert list(Alert.objects.values_list("channel", flat=True)) == [db.pk]

    def test_no_route_is_said_in_the_answer_and_the_recent_events(self, push, source):
        RouteFactory(
            source=source,
            channels=[ChannelFactory()],
            matchers=[{"key": "labels.team", "op": "eq", "value": "db"}],
        )
        response = push(source, payloads.alertmanager(payloads.am_alert("A", team="web")))
        body = response.json()
        assert response.status_code == 200
        assert body["accepted"] == 0
        assert body["unrouted"] == ["fp-A-db-1:9100"]
        assert "matched no route" in body["notes"][0]
        inbound = InboundEvent.objects.get()
        assert inbound.status == InboundEvent.Status.UNROUTED
        assert "matched no route" in inbound.notes[0]
        assert not Alert.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_push_is_kept_and_answered(client, monkeypatch, caplog):
    from kombu.exceptions import OperationalError

    from oncall.tasks import process_inbound_event

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(process_inbound_event, "delay", broker_down)
    source = AlertSourceFactory()
    response = client.post(
        f"/push/{source.token}",
        data=payloads.alertmanager(payloads.am_alert()),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert InboundEvent.objects.get().status == InboundEvent.Status.PENDING  # for the sweep
    # One warning line per push during an outage, not an error with a traceback each.
    (logged,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert logged.levelname == "WARNING"
    assert "the sweep will hand it to a worker" in logged.getMessage()
    assert logged.exc_info is None
