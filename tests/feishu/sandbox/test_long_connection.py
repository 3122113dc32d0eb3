"""Long-connection mode end to end: ``feishu_connect``'s supervisor runs the official SDK's
client (``lark_oapi.ws.Client``) against the sandbox's long-connection server; clicks and events
travel over the socket into the same handlers as the request URLs, with no request URL set.

PostgreSQL only (marked ``postgres``): the client and the console's handler each use the
database from threads of their own, and SQLite's shared in-memory test database
answers concurrent connections with "database table is locked"."""

from __future__ import annotations

import json
import time

import pytest

from integrations.feishu.cards import delivery
from integrations.feishu.long_connection.heartbeat import connection_status
from integrations.feishu.long_connection.supervisor import Supervisor
from integrations.feishu.models import ConnectionHeartbeat, FeishuChat, InboundMode
from integrations.feishu_sandbox import send, socket_server
from integrations.feishu_sandbox.models import CallbackFormat, SandboxMessage, SubscriptionMode
from integrations.feishu_sandbox.send import Click, send_card_action
from oncall.models import Incident
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

WAIT_SECONDS = 15


def eventually(condition, what: str):
    """Wait for something another thread does (a socket opening, a frame arriving)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def socket_address(settings):
    running = socket_server.start_in_thread()
    settings.FEISHU_SANDBOX_SOCKET_ADDRESS = running.address
    yield running.address
    running.stop()


@pytest.fixture
def long_connection_app(console_app, sandbox_app, socket_address):
    """Both sides in long-connection mode, and neither request URL set anywhere."""
    sandbox_app.subscription_mode = SubscriptionMode.LONG_CONNECTION
    sandbox_app.event_request_url = sandbox_app.card_request_url = ""
    sandbox_app.save()
    console_app.inbound_mode = InboundMode.LONG_CONNECTION
    console_app.save()
    return console_app


@pytest.fixture
def connected(long_connection_app):
    """``feishu_connect``'s supervisor, after its first tick, once the socket is open."""
    supervisor = Supervisor()
    supervisor.tick()
    connection = supervisor.connections[long_connection_app.pk]
    eventually(lambda: connection.connected, "the SDK's client to connect")
    eventually(
        lambda: ConnectionHeartbeat.objects.filter(
            app=long_connection_app, connected=True
        ).exists(),
        "the connection to be recorded",
    )
    yield supervisor
    supervisor.shutdown()


@pytest.fixture
def world(long_connection_app, sandbox_app, sandbox_people, sandbox_chat):
    users = {k: UserFactory(username=k, first_name=k.title()) for k in sandbox_people}
    for key in ("alice", "bob"):
        link(users[key], long_connection_app, sandbox_app, sandbox_people[key])
    channel = ChannelFactory(name="Databases")
    channel.members.add(users["alice"], users["bob"])
    incident = IncidentFactory(channel=channel, title="Replication lag")
    group = FeishuChat.objects.create(
        app=long_connection_app, chat_id=sandbox_chat.chat_id, name="SRE"
    )
    delivery.notify(incident, long_connection_app, [], [group])
    card = SandboxMessage.objects.get(chat=sandbox_chat, msg_type="interactive")
    return {"app": sandbox_app, "people": sandbox_people, "incident": incident, "card": card}


def claim(world, who: str = "alice", fmt: str = CallbackFormat.NEW):
    value = {"action": "claim", "incident": str(world["incident"].public_id)}
    return send_card_action(
        world["app"],
        world["people"][who],
        world["card"],
        Click("button", value),
        callback_format=fmt,
    )


def test_a_card_click_travels_over_the_long_connection_and_claims(world, connected):
    answer = claim(world)

    incident = Incident.objects.get(pk=world["incident"].pk)
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.claimed_by.username == "alice"
    assert answer.delivery.url == send.OVER_SOCKET
    assert answer.toast == "Claimed by you."
    assert "Alice" in json.dumps(answer.card, ensure_ascii=False)
    assert answer.delivery.status == 200


def test_the_heartbeat_shows_the_connection_up_then_down(world, connected, long_connection_app):
    claim(world)
    up = connection_status(long_connection_app)
    connected.shutdown()
    down = eventually(
        lambda: (s := connection_status(long_connection_app)).state == "down" and s,
        "the disconnection",
    )

    assert up.state == "up"
    assert up.connected_at is not None
    assert up.last_message_at is not None
    assert down.message.startswith("Not connected")


def test_an_event_over_the_long_connection_is_handled(long_connection_app, sandbox_app, connected):
    from integrations.feishu_sandbox.models import SandboxChat

    chat = SandboxChat.objects.create(name="Payments")
    delivered = send.send_event(
        sandbox_app, send.bot_membership_event(sandbox_app, chat, None, added=True)
    )

    assert delivered.ok
    assert FeishuChat.objects.get(app=long_connection_app, chat_id=chat.chat_id).name == "Payments"


def test_old_format_callbacks_do_not_travel_over_the_long_connection(world, connected):
    answer = claim(world, fmt=CallbackFormat.OLD)

    assert answer.failed
    assert answer.toast == "This app has no card request URL."
    assert answer.delivery is None  # nothing was sent, over the socket or otherwise
    assert Incident.objects.get(pk=world["incident"].pk).status == Incident.Status.TRIGGERED


def test_a_wrong_app_secret_is_reported_on_the_connection(long_connection_app):
    long_connection_app.app_secret = "not-the-secret"
    long_connection_app.save()
    supervisor = Supervisor()
    supervisor.tick()
    connection = supervisor.connections[long_connection_app.pk]

    eventually(lambda: not connection.alive, "the refused client to stop")
    status = eventually(
        lambda: (s := connection_status(long_connection_app)).last_error and s, "the error"
    )
    supervisor.shutdown()

    assert "app secret invalid" in status.last_error
    assert status.state == "down"
