"""How a push reaches a long-connection client: the web process relays it through the socket
server (``long_connection.push``) and gets the client's answer back, with no database between
them. The client here speaks the SDK's frames by hand; test_long_connection.py runs the SDK."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from lark_oapi.ws.pb.pbbp2_pb2 import Frame
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from integrations.feishu_sandbox import long_connection, socket_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(settings) -> Iterator[socket_server.Running]:
    running = socket_server.start_in_thread()
    settings.FEISHU_SANDBOX_SOCKET_ADDRESS = running.address
    yield running
    running.stop()


def client_url(app_id: str, device_id: str = "device-1") -> str:
    ticket = long_connection.make_ticket(app_id, device_id)
    return f"{long_connection.socket_base_url()}/ws/v2?device_id={device_id}&ticket={ticket}"


def answer_one_event(socket: ClientConnection, answer: dict, received: list[dict]) -> None:
    """What the SDK does with an event frame: answer with the same frame, its payload
    replaced by ``{"code": 200, "data": "<base64 JSON>"}``."""
    frame = Frame()
    frame.ParseFromString(socket.recv(timeout=10))
    received.append(json.loads(frame.payload))
    data = base64.b64encode(json.dumps(answer).encode()).decode()
    frame.payload = json.dumps({"code": 200, "data": data}).encode()
    socket.send(frame.SerializeToString())


def test_it_relays_a_push_to_a_connected_client_and_its_answer_back(server, sandbox_app):
    received: list[dict] = []
    with connect(client_url(sandbox_app.app_id), proxy=None) as client:
        answering = threading.Thread(
            target=answer_one_event, args=(client, {"toast": {"content": "ok"}}, received)
        )
        answering.start()
        answer = long_connection.push(sandbox_app, {"event": "一"})
        answering.join(timeout=10)

    assert received == [{"event": "一"}]
    assert (answer.code, json.loads(answer.answer)) == (200, {"toast": {"content": "ok"}})
    assert answer.device_id == "device-1"


def test_it_says_when_no_client_of_the_app_is_connected(server, sandbox_app):
    with connect(client_url("cli_someone_else"), proxy=None):
        answer = long_connection.push(sandbox_app, {"event": "x"})

    assert answer.code is None
    assert answer.error == "no client of this app is connected"


def test_it_says_when_the_server_is_not_running(settings, sandbox_app):
    with socket.socket() as taken:  # bound, not listening: connections to it are refused
        taken.bind(("127.0.0.1", 0))
        settings.FEISHU_SANDBOX_SOCKET_ADDRESS = f"127.0.0.1:{taken.getsockname()[1]}"
        answer = long_connection.push(sandbox_app, {"event": "x"})

    assert answer.code is None
    assert "not running" in answer.error


@pytest.mark.parametrize(
    "path",
    [
        # A client's ticket does not open the relay, nor a relay ticket a client's socket.
        "/relay?ticket={client}",
        "/ws/v2?device_id=&ticket={relay}",
        "/relay?ticket=forged.0000",
        "/elsewhere?ticket={relay}",
    ],
)
def test_it_refuses_a_connection_without_the_right_ticket(server, path):
    tickets = {
        "client": long_connection.make_ticket("cli_a", ""),
        "relay": long_connection.make_ticket("cli_a", "", purpose=long_connection.RELAY),
    }
    url = long_connection.socket_base_url() + path.format(**tickets)

    with pytest.raises(InvalidStatus) as refused:
        connect(url, proxy=None)

    assert refused.value.response.status_code == 403
