"""Long-connection mode on every surface but the socket itself (that is
tests/feishu/sandbox/test_long_connection.py): the setting in the admin and the API, the
connection's state from its heartbeat, the checklist that changes with the mode, and the pushed
events going through the same handler as the request URLs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.feishu import setup_check
from integrations.feishu.long_connection.bridge import PushRefused, handle_pushed
from integrations.feishu.long_connection.heartbeat import connection_status, record_connected
from integrations.feishu.models import (
    CallbackReceipt,
    ConnectionHeartbeat,
    FeishuApp,
    FeishuChat,
    InboundMode,
)
from tests.factories import FeishuAppFactory
from tests.feishu.test_callbacks import bot_added, card_v1, card_v2

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user) -> APIClient:
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


@pytest.fixture
def lc_app():
    return FeishuAppFactory(inbound_mode=InboundMode.LONG_CONNECTION)


def change_page(admin_client, app) -> str:
    return admin_client.get(
        reverse("admin:integrations_feishuapp_change", args=[app.pk])
    ).content.decode()


# --- The state -----------------------------------------------------------------------------------


def test_a_request_url_app_does_not_use_a_connection(app):
    assert connection_status(app).state == "not_used"


def test_an_app_never_connected_says_how_to_connect(lc_app):
    status = connection_status(lc_app)

    assert status.state == "down"
    assert "feishu_connect" in status.message


def test_a_fresh_heartbeat_is_up_and_a_stale_one_down(lc_app, settings):
    record_connected(lc_app.pk)
    up = connection_status(lc_app)
    stale = timezone.now() - timedelta(seconds=settings.FEISHU_CONNECT_HEARTBEAT_SECONDS * 5)
    ConnectionHeartbeat.objects.filter(app=lc_app).update(heartbeat_at=stale)

    down = connection_status(lc_app)

    assert up.state == "up"
    assert down.state == "down"
    assert "No heartbeat since" in down.message


# --- Admin ---------------------------------------------------------------------------------------


def test_the_admin_switches_an_app_to_long_connection(admin_client, app):
    url = reverse("admin:integrations_feishuapp_change", args=[app.pk])
    form = {
        "name": app.name,
        "platform": app.platform,
        "app_id": app.app_id,
        "enabled": "on",
        "inbound_mode": "long_connection",
    }

    assert admin_client.post(url, form).status_code == 302
    assert FeishuApp.objects.get(pk=app.pk).inbound_mode == InboundMode.LONG_CONNECTION
    assert admin_client.post(url, {**form, "inbound_mode": ""}).status_code == 302
    assert FeishuApp.objects.get(pk=app.pk).inbound_mode == InboundMode.LONG_CONNECTION


def test_the_checklist_of_a_long_connection_app_needs_no_request_url(admin_client, lc_app):
    page = change_page(admin_client, lc_app)

    assert "Receive events through persistent connection" in page
    assert "card.action.trigger" in page
    assert "do not travel over the long connection" in page
    assert "set the request URL to the" not in page
    assert "Not needed: this app receives events and card callbacks" in page
    assert "Never connected" in page


def test_the_checklist_of_a_request_url_app_is_unchanged(admin_client, app):
    page = change_page(admin_client, app)

    assert "set the request URL to the" in page
    assert "Receive events through persistent connection</b>" not in page


def test_the_app_list_shows_the_connection(admin_client, lc_app):
    record_connected(lc_app.pk)

    page = admin_client.get(reverse("admin:integrations_feishuapp_changelist")).content.decode()

    assert "Long connection" in page
    assert ">up<" in page


def test_check_configuration_reports_the_connection(lc_app, monkeypatch):
    from integrations.feishu import chats

    monkeypatch.setattr(chats, "sync_chats", lambda app: "0 chats")  # the Open API's side

    result = setup_check.check_configuration(lc_app)

    assert "Long connection: Never connected" in result.message


# --- API -----------------------------------------------------------------------------------------


def test_the_api_shows_and_sets_the_mode_and_the_connection(api, app):
    url = f"/api/v1/feishu-apps/{app.public_id}/"

    before = api.get(url).json()
    changed = api.patch(url, {"inbound_mode": "long_connection"}, format="json")
    record_connected(app.pk)
    after = api.get(url).json()

    assert before["inbound_mode"] == "request_url"
    assert before["connection"]["state"] == "not_used"
    assert changed.status_code == 200
    assert after["inbound_mode"] == "long_connection"
    assert after["connection"]["state"] == "up"
    assert after["connection"]["connected_at"] is not None


def test_the_api_refuses_an_unknown_mode(api, app):
    answer = api.patch(
        f"/api/v1/feishu-apps/{app.public_id}/", {"inbound_mode": "carrier_pigeon"}, format="json"
    )

    assert answer.status_code == 400
    assert "inbound_mode" in answer.json()["error"]["fields"]


# --- What comes over the socket ------------------------------------------------------------------


def test_a_pushed_event_is_handled_once_like_a_requested_one(lc_app):
    payload = json.dumps(bot_added(lc_app, chat_id="oc_ws", event_id="ev-ws")).encode()

    first = handle_pushed(lc_app.pk, payload)
    again = handle_pushed(lc_app.pk, payload)

    assert first == again == {}
    assert FeishuChat.objects.get(app=lc_app, chat_id="oc_ws").status == FeishuChat.Status.ACTIVE
    assert CallbackReceipt.objects.filter(app=lc_app, key="ev-ws").count() == 1


def test_a_pushed_click_is_answered_with_a_toast(lc_app):
    payload = json.dumps(card_v2(lc_app, {"action": "no-such-button"})).encode()

    answer = handle_pushed(lc_app.pk, payload)

    assert answer["toast"]["type"] == "warning"


@pytest.mark.parametrize(
    "payload",
    [card_v1({"action": "claim"}), {"type": "url_verification", "challenge": "c", "token": "t"}],
)
def test_old_format_clicks_and_challenges_are_refused_over_the_socket(lc_app, payload):
    with pytest.raises(PushRefused) as refused:
        handle_pushed(lc_app.pk, json.dumps(payload).encode())

    assert "does not come over the long connection" in str(refused.value)


def test_a_push_for_a_disabled_app_is_refused(lc_app):
    FeishuApp.objects.filter(pk=lc_app.pk).update(enabled=False)

    with pytest.raises(PushRefused):
        handle_pushed(lc_app.pk, json.dumps(bot_added(lc_app)).encode())

    assert not FeishuChat.objects.exists()


def test_a_pushed_event_the_handler_refuses_is_refused_with_its_reason(lc_app):
    payload = bot_added(lc_app, chat_id="oc_ws", event_id="ev-bad")
    payload["event"]["chat_id"] = ""  # the handler answers 400 to a request URL

    with pytest.raises(PushRefused) as refused:
        handle_pushed(lc_app.pk, json.dumps(payload).encode())

    assert "im.chat.member.bot.added_v1" in str(refused.value)


# --- The heartbeat row: written per heartbeat, not per frame ----------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_messages_are_written_once_a_heartbeat_not_once_a_frame(lc_app, settings, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from integrations.feishu.long_connection import client as client_module
    from integrations.feishu.long_connection.heartbeat import record_alive

    settings.FEISHU_CONNECT_HEARTBEAT_SECONDS = 15
    clock = [1000.0]
    monkeypatch.setattr(client_module.time, "monotonic", lambda: clock[0])
    record_connected(lc_app.pk)
    worker = ThreadPoolExecutor(max_workers=1)
    client = client_module.ConsoleWsClient(lc_app, worker)

    def written() -> object:
        worker.submit(lambda: None).result()  # what was handed to the worker is done
        return ConnectionHeartbeat.objects.get(app=lc_app).last_message_at

    try:
        client.message_received()
        first = client.last_message_at
        for _ in range(3):
            client.message_received()
        assert written() == first  # the frames after the first stayed in memory
        assert client.last_message_at > first
        clock[0] += 15
        client.message_received()
        assert written() == client.last_message_at  # a heartbeat later: written
        client.message_received()
        record_alive({lc_app.pk: client.last_message_at})  # the supervisor's heartbeat
        assert written() == client.last_message_at
    finally:
        worker.shutdown(wait=True)
