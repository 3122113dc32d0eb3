"""Answers at the edges that used to be a 500 or an HTML page: each is now JSON with a reason.

The wrong method on a push URL, a Feishu callback URL or /metrics, an unknown API URL, a token
of the wrong kind of source, a channel that cannot be deleted, a snooze longer than time itself,
JSON too deep for the API."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.models import LinkedAccount
from oncall.models import Channel, Incident
from tests import payloads
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    FeishuAppFactory,
    IncidentFactory,
    UserFactory,
    api_as,
)
from tests.feishu.test_callbacks import card_v2, deliver
from tests.feishu.test_chat_commands import say

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999d"


@pytest.fixture
def admin():
    return api_as(UserFactory(username="root", is_staff=True, is_superuser=True))


# --- Push URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_a_push_url_answers_the_wrong_method_in_json_with_the_reason(client, channel, method):
    source = AlertSourceFactory(channel=channel)
    response = getattr(client, method)(f"/push/{source.token}")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    error = response.json()["error"]
    assert error["code"] == "method_not_allowed"
    assert method.upper() in error["message"]
    assert source.token not in response.content.decode()


def test_pagerdutys_own_url_answers_the_wrong_method_in_its_shape(client):
    response = client.get("/push/pagerduty/v2/enqueue")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["errors"] == ["method_not_allowed"]


@pytest.mark.parametrize("url", ["event_callback_url", "card_callback_url"])
def test_a_feishu_callback_url_answers_the_wrong_method_in_json(client, url):
    path = getattr(FeishuAppFactory(), url)
    response = client.get(path)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_metrics_answers_the_wrong_method_in_json(client):
    response = client.post("/metrics")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert "POST is not accepted" in response.json()["error"]["message"]


def test_a_token_of_another_kind_of_source_is_told_so_without_the_token(client, channel):
    source = AlertSourceFactory(channel=channel, kind="alertmanager")
    event = payloads.pagerduty("trigger", routing_key=source.token)
    response = client.post(
        "/push/pagerduty/v2/enqueue", data=json.dumps(event), content_type="application/json"
    )
    assert response.status_code == 403
    body = response.json()
    assert body["errors"] == ["wrong_source_kind"]
    assert "alertmanager" in body["message"]
    assert "pagerduty" in body["message"]
    assert source.token not in response.content.decode()


def test_an_unknown_routing_key_is_still_an_unknown_token(client):
    event = payloads.pagerduty("trigger", routing_key="no-such-token")
    response = client.post(
        "/push/pagerduty/v2/enqueue", data=json.dumps(event), content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json()["errors"] == ["invalid_token"]


# --- The REST API ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v1/channels/a/b/c/", "/api/v2/"])
def test_an_unknown_api_url_is_a_json_404(admin, path):
    response = admin.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_page_outside_the_api_is_still_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_deleting_a_channel_that_has_incidents_is_a_409_with_the_reason(admin):
    channel = ChannelFactory(name="Databases")
    IncidentFactory(channel=channel)
    IncidentFactory(channel=channel)
    response = admin.delete(f"/api/v1/channels/{channel.public_id}/")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "protected"
    assert "2 incidents" in error["message"]
    assert Channel.objects.filter(pk=channel.pk).exists()
    assert Incident.objects.count() == 2


def test_deleting_a_channel_without_incidents_still_works(admin):
    channel = ChannelFactory()
    assert admin.delete(f"/api/v1/channels/{channel.public_id}/").status_code == 204
    assert not Channel.objects.filter(pk=channel.pk).exists()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"name": ' + b"9" * 5000 + b"}",
    ],
    ids=["deep", "digits"],
)
def test_json_the_api_cannot_read_is_a_400_with_the_reason(admin, raw):
    response = admin.post("/api/v1/channels/", raw, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "deeper than" in error["message"] or "digits" in error["message"]


def test_unstorable_text_in_an_api_json_field_is_a_400_naming_it(admin):
    source = AlertSourceFactory(channel=None)
    response = admin.post(
        "/api/v1/routes/",
        {
            "source": str(source.public_id),
            "matchers": [{"key": "labels.te\x00am", "op": "eq", "value": "db"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "matchers[0].key" in response.json()["error"]["message"]


# --- Snooze durations longer than time ---------------------------------------------------------


@pytest.fixture
def member_incident(channel, responder):
    return IncidentFactory(channel=channel)


@pytest.mark.parametrize("duration", [HUGE, "9" * 5000 + "m", 10**30, "²"])
def test_the_api_refuses_a_snooze_too_long_to_compute_with_a_400(
    responder, member_incident, duration
):
    response = api_as(responder).post(
        f"/api/v1/incidents/{member_incident.public_id}/snooze/",
        {"duration": duration},
        format="json",
    )
    assert response.status_code == 400
    assert "duration" in response.json()["error"]["fields"]
    member_incident.refresh_from_db()
    assert member_incident.snoozed_until is None


def test_the_incident_page_refuses_a_snooze_too_long_with_a_400(signed_in, member_incident):
    response = signed_in.post(f"/incidents/{member_incident.public_id}/snooze/", {"duration": HUGE})
    assert response.status_code == 400
    member_incident.refresh_from_db()
    assert member_incident.snoozed_until is None


@pytest.fixture
def feishu_member(responder):
    app = FeishuAppFactory(encrypt_key="")
    LinkedAccount.objects.create(user=responder, app=app, open_id="ou_alice")
    return app


def test_a_snooze_command_too_long_is_answered_with_the_reason(feishu_member, member_incident):
    answer = say(feishu_member, f"snooze {member_incident.number} {HUGE}")
    assert "too long" in answer
    member_incident.refresh_from_db()
    assert member_incident.snoozed_until is None


def test_a_card_menu_value_too_long_is_answered_with_a_toast(client, member_incident):
    app = FeishuAppFactory(encrypt_key="")
    LinkedAccount.objects.create(
        user=member_incident.channel.members.get(), app=app, open_id="ou_clicker"
    )
    value = {"action": "snooze", "incident": str(member_incident.public_id)}
    response = deliver(client, app, card_v2(app, value, option=HUGE), url="cards")
    assert response.status_code == 200
    assert response.json()["toast"]["type"] == "error"
    member_incident.refresh_from_db()
    assert member_incident.snoozed_until is None
