"""Stream mode: the sandbox's Stream endpoint serves the official ``dingtalk-stream`` client
unchanged (only its host pointed at the sandbox); the console's connection (the SDK with its
ticket asked through the console's client) feeds events to the HTTP push's handlers, once per
event id; stale events and used or forged tickets are refused; ``dingtalk_connect``'s
supervisor follows the apps' push method."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

import pytest
from dingtalk_stream import AckMessage, Credential, DingTalkStreamClient, EventHandler
from django.contrib.auth import get_user_model
from django.urls import reverse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from integrations.dingtalk.client import errors
from integrations.dingtalk.client.open_api import AppCredentials, DingTalkClient
from integrations.dingtalk.models import DingTalkApp, DingTalkGroup, EventMode
from integrations.dingtalk.platform import DingTalkPlatform
from integrations.dingtalk.stream.connection import AppStreamClient
from integrations.dingtalk.stream.supervisor import Supervisor
from integrations.dingtalk_sandbox import card_clicks, push, stream
from integrations.dingtalk_sandbox.management.commands import dingtalk_sandbox_seed
from integrations.dingtalk_sandbox.models import PushRecord, SandboxApp, SandboxCard, SandboxGroup
from oncall.models import EscalationLevel, Incident, TimelineEntry
from tests.dingtalk.cards_world import cards_to, shows, user_id_of
from tests.dingtalk.streaming import running, serving_stream, stream_mode
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

WAIT_SECONDS = 15


@pytest.fixture
def live(_drained_live_server, settings):  # the sandbox tenant plugin's (tests/conftest.py)
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.PUBLIC_BASE_URL = _drained_live_server.url
    settings.DINGTALK_SANDBOX_BASE_URL = _drained_live_server.url + "/sandbox/dingtalk"
    yield _drained_live_server.url
    gc.collect()  # close kept-alive connections before the test database goes


@pytest.fixture
def server(settings):
    with serving_stream(settings) as running:
        yield running


@pytest.fixture
def sandbox_app() -> SandboxApp:
    return SandboxApp.objects.create(name="Stream test app")


@pytest.fixture
def app(live, sandbox_app) -> DingTalkApp:
    app = dingtalk_sandbox_seed.console_app_for(sandbox_app)
    DingTalkApp.objects.filter(pk=app.pk).update(event_mode=EventMode.STREAM)
    app.refresh_from_db()
    return app


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT_SECONDS} s: {what}")
        time.sleep(0.05)


def install(sandbox_app: SandboxApp, group: SandboxGroup, **event: Any) -> dict:
    body = push.cool_app_event(sandbox_app, group, installed=True) | event
    return stream.event_message(sandbox_app, body)


# --- The official client, unchanged -------------------------------------------------------------


class Recorder(EventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []

    async def process(self, event):
        self.events.append(event)
        return AckMessage.STATUS_OK, "OK"


def test_the_official_client_connects_to_the_sandbox_and_acknowledges(
    live, server, sandbox_app, monkeypatch
):
    # The one thing configured: the host (the SDK reads DINGTALK_OPENAPI_ENDPOINT at import).
    open_api = live + "/sandbox/dingtalk/v1.0/gateway/connections/open"
    monkeypatch.setattr(DingTalkStreamClient, "OPEN_CONNECTION_API", open_api)
    client = DingTalkStreamClient(Credential(sandbox_app.client_id, sandbox_app.client_secret))
    recorder = Recorder()
    client.register_all_event_handler(recorder)
    group = SandboxGroup.objects.create(title="SRE on-call")
    with running(client.start):
        wait_for(lambda: server.connected(sandbox_app.client_id) == 1, "the client connects")
        answer = stream.deliver(sandbox_app, install(sandbox_app, group))
    assert answer.ok, answer
    [event] = recorder.events
    assert event.headers.event_type == "im_cool_app_install"
    assert event.headers.event_corp_id == sandbox_app.corp_id
    assert event.data["openConversationId"] == group.open_conversation_id
    assert event.data["coolAppCode"] == sandbox_app.cool_app_code


def test_the_open_endpoint_refuses_wrong_credentials(live, server, sandbox_app):
    base = live + "/sandbox/dingtalk"
    credentials = AppCredentials(sandbox_app.corp_id, sandbox_app.client_id, "x", base, base)
    wrong = DingTalkClient(credentials)
    with pytest.raises(errors.AuthError) as raised:
        wrong.open_stream_connection([{"type": "EVENT", "topic": "*"}], "test")
    assert raised.value.code == "invalidClientIdOrSecret"
    wrong.session.close()


def test_a_ticket_opens_one_connection_and_a_forged_one_none(server, sandbox_app):
    ticket = stream.make_ticket(sandbox_app.client_id)
    url = f"ws://{server.address}{stream.CLIENT_PATH}?ticket={ticket}"
    with connect(url, proxy=None):
        pass
    with pytest.raises(InvalidStatus) as used:
        connect(url, proxy=None)
    assert used.value.response.status_code == 403
    forged = ticket[:-4] + ("0000" if not ticket.endswith("0000") else "1111")
    with pytest.raises(InvalidStatus):
        connect(f"ws://{server.address}{stream.CLIENT_PATH}?ticket={forged}", proxy=None)
    relay_ticket_as_client = stream.make_ticket(sandbox_app.client_id, purpose=stream.RELAY)
    with pytest.raises(InvalidStatus):
        connect(f"ws://{server.address}{stream.CLIENT_PATH}?ticket={relay_ticket_as_client}")


def test_an_expired_ticket_is_refused():
    assert stream.read_ticket(stream.make_ticket("dingx", now=time.time() - 3600)) is None


# --- The console's connection -------------------------------------------------------------------


def test_a_group_event_by_stream_updates_the_group_list_once(live, server, sandbox_app, app):
    group = SandboxGroup.objects.create(title="SRE on-call")
    with running(AppStreamClient(app).start):
        wait_for(lambda: server.connected(app.client_id) == 1, "the console connects")
        first = install(sandbox_app, group)
        answer = stream.deliver(sandbox_app, first)
        assert (answer.code, answer.message) == (200, "acted")
        listed = DingTalkGroup.objects.get(app=app)
        assert listed.open_conversation_id == group.open_conversation_id
        assert listed.usable

        uninstalled = push.cool_app_event(sandbox_app, group, installed=False)
        answer = stream.deliver(sandbox_app, stream.event_message(sandbox_app, uninstalled))
        assert (answer.code, answer.message) == (200, "acted")
        # The first install delivered again (a replay): answered, not acted on.
        again = {**first, "headers": {**first["headers"], "messageId": "m-replayed"}}
        answer = stream.deliver(sandbox_app, again)
        assert (answer.code, answer.message) == (200, "repeated")
    listed.refresh_from_db()
    assert listed.status == DingTalkGroup.Status.UNINSTALLED


def test_a_stale_or_malformed_event_by_stream_is_not_acted_on(live, server, sandbox_app, app):
    group = SandboxGroup.objects.create(title="SRE on-call")
    hours_ago = int((time.time() - 2 * 3600) * 1000)
    with running(AppStreamClient(app).start):
        wait_for(lambda: server.connected(app.client_id) == 1, "the console connects")
        stale = stream.deliver(sandbox_app, install(sandbox_app, group, EventTime=hours_ago))
        assert (stale.code, stale.message) == (200, "stale")
        malformed = install(sandbox_app, group, openConversationId="")
        answer = stream.deliver(sandbox_app, malformed)
        assert (answer.code, answer.message) == (400, "malformed")
    assert not DingTalkGroup.objects.exists()


def test_the_supervisor_follows_the_apps_push_method(live, server, sandbox_app, app, settings):
    settings.DINGTALK_CONNECT_REFRESH_SECONDS = 1
    stop = asyncio.Event()
    with running(lambda: Supervisor().run(stop)):
        wait_for(lambda: server.connected(app.client_id) == 1, "Stream mode connects")
        DingTalkApp.objects.filter(pk=app.pk).update(event_mode=EventMode.HTTP)
        wait_for(lambda: server.connected(app.client_id) == 0, "HTTP push disconnects")


# --- Card clicks by Stream ---------------------------------------------------------------------


def card_for(world, name: str) -> tuple[Incident, SandboxCard]:
    incident = IncidentFactory(channel=world.channel, severity="warning")
    level = EscalationLevel.objects.create(rule=world.rule, position=1, escalate_after_minutes=5)
    level.users.add(world.users[name])
    DingTalkPlatform().notify(incident, world.rule, level, [world.users[name]])
    (card,) = cards_to(name)
    return incident, card


@pytest.mark.django_db(transaction=True)
def test_a_card_click_by_stream_claims_the_incident(server, world):
    stream_mode(world)
    incident, card = card_for(world, "bob")
    with running(AppStreamClient(world.app).start):
        wait_for(lambda: server.connected(world.app.client_id) == 1, "the console connects")
        record = card_clicks.click(card, user_id_of("bob"), "claim")
    assert (record.ok, record.outcome) == (True, "Claimed by you.")
    assert record.url.endswith(stream.CLIENT_PATH)  # by the Stream, not the callback URL
    incident.refresh_from_db()
    assert incident.claimed_by == world.users["bob"]
    assert incident.timeline.get(kind=TimelineEntry.Kind.CLAIMED).source == "dingtalk"
    card.refresh_from_db()
    assert shows(card, "Claimed by Bob")


@pytest.mark.django_db(transaction=True)
def test_a_click_by_stream_is_acted_on_once_and_only_for_linked_people(server, world):
    stream_mode(world)
    incident, card = card_for(world, "bob")
    claim = card_clicks.click_payload(card, user_id_of("bob"), "claim")
    message = stream.callback_message(world.sandbox_app, card_clicks.STREAM_TOPIC, claim)
    stranger = card_clicks.click_payload(card, "staff-stranger", "close")
    with running(AppStreamClient(world.app).start):
        wait_for(lambda: server.connected(world.app.client_id) == 1, "the console connects")
        first = stream.deliver(world.sandbox_app, message)
        again = stream.deliver(world.sandbox_app, message)  # DingTalk delivering it again
        unknown = stream.deliver(
            world.sandbox_app,
            stream.callback_message(world.sandbox_app, card_clicks.STREAM_TOPIC, stranger),
        )
        malformed = stream.deliver(
            world.sandbox_app,
            stream.callback_message(world.sandbox_app, card_clicks.STREAM_TOPIC, {"userId": "x"}),
        )
    assert card_clicks.judge_stream(first) == (True, "Claimed by you.")
    assert card_clicks.judge_stream(again) == (
        True,
        "This click was received before; it was acted on once.",
    )
    ok, said = card_clicks.judge_stream(unknown)
    assert ok
    assert "not linked" in said
    assert malformed.code == 400
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.timeline.filter(kind=TimelineEntry.Kind.CLAIMED).count() == 1


# --- The sandbox's pages ------------------------------------------------------------------------


def test_the_sandbox_page_delivers_by_stream_in_stream_mode(live, server, sandbox_app, app, client):
    SandboxApp.objects.filter(pk=sandbox_app.pk).update(stream_mode=True)
    group = SandboxGroup.objects.create(title="Database team")
    install_url = reverse("dingtalk_sandbox:group-install", args=[group.open_conversation_id])
    with running(AppStreamClient(app).start):
        wait_for(lambda: server.connected(app.client_id) == 1, "the console connects")
        client.post(install_url, {"app": sandbox_app.pk})
    assert DingTalkGroup.objects.get(app=app).open_conversation_id == group.open_conversation_id
    record = PushRecord.objects.get()
    assert (record.ok, record.http_status, record.outcome) == (True, 200, "acted")


def test_without_a_connected_client_the_sandbox_page_says_so(live, server, sandbox_app, client):
    SandboxApp.objects.filter(pk=sandbox_app.pk).update(stream_mode=True)
    group = SandboxGroup.objects.create(title="Database team")
    install_url = reverse("dingtalk_sandbox:group-install", args=[group.open_conversation_id])
    client.post(install_url, {"app": sandbox_app.pk})
    record = PushRecord.objects.get()
    assert not record.ok
    assert record.outcome == "no client of this app is connected"


def test_the_push_method_is_set_in_the_admin_and_the_api(admin_client, app):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    url = f"/api/v1/dingtalk-apps/{app.public_id}/"
    assert api.get(url).json()["event_mode"] == "stream"
    assert api.patch(url, {"event_mode": "http"}, format="json").status_code == 200
    assert api.patch(url, {"event_mode": "carrier-pigeon"}, format="json").status_code == 400
    app.refresh_from_db()
    assert app.event_mode == EventMode.HTTP
    page = admin_client.get(reverse("admin:dingtalk_dingtalkapp_change", args=[app.pk]))
    assert b'name="event_mode"' in page.content
