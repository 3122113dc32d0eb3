"""The sandbox's long-connection server: a small asyncio ``websockets`` server speaking the
frames of Feishu's long connection, so that the official SDK's client connects to it unchanged.

Frames are the protobuf ``Frame`` of ``lark_oapi/ws/pb/pbbp2.proto`` (the wire schema; the
sandbox takes the generated class from the SDK rather than a copy): ``method`` 0 is a control
frame (``type`` header ``ping`` / ``pong``), 1 a data frame (``type`` ``event``, with
``message_id``, ``trace_id``, ``sum`` and ``seq`` headers). The client pings every
``PingInterval`` seconds and gets a pong carrying the client configuration; it answers each
event with the same frame, its payload replaced by ``{"code": 200, "data": "<base64 JSON>"}``.

Run by ``manage.py sandbox_socket`` (``dev.py up`` starts it with the sandbox) and, in tests, in
a thread (``start_in_thread``). Pushes come from the web process over a relay connection on the
same port (``long_connection.push``): one payload in, one answer back, each relay connection
waiting on its client's answer frame; the server needs no database. The frame of the server
(clients held, answers awaited, running in a thread) is the toolkit's
(``chatkit.sandbox.socket_server``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from lark_oapi.ws.pb.pbbp2_pb2 import Frame
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from integrations.chatkit.sandbox import socket_server as chatkit_socket_server
from integrations.chatkit.sandbox.socket_server import Running
from integrations.feishu_sandbox import long_connection
from integrations.feishu_sandbox.long_connection import SocketAnswer
from integrations.feishu_sandbox.push_answers import ANSWER_CHARS, ANSWER_TIMEOUT_SECONDS, NO_ANSWER

CONTROL, DATA = 0, 1


def _header(frame: Frame, key: str) -> str:
    for header in frame.headers:
        if header.key == key:
            return header.value
    return ""


def _frame(method: int, service: int, headers: dict[str, str], payload: bytes = b"") -> bytes:
    frame = Frame()
    frame.SeqID, frame.LogID, frame.service, frame.method = 0, 0, service, method
    for key, value in headers.items():
        added = frame.headers.add()
        added.key, added.value = key, value
    frame.payload = payload
    return frame.SerializeToString()


def _app_id(request: Request) -> str | None:
    """The App ID the request's ticket was made for: a client's on ``CLIENT_PATH`` (bound to
    its ``device_id``), the web process's on ``RELAY_PATH``; None when it opens neither."""
    url = urlsplit(request.path)
    query = parse_qs(url.query)
    ticket = (query.get("ticket") or [""])[0]
    if url.path == long_connection.RELAY_PATH:
        return long_connection.read_ticket(ticket, "", purpose=long_connection.RELAY)
    if url.path == long_connection.CLIENT_PATH:
        device_id = (query.get("device_id") or [""])[0]
        return long_connection.read_ticket(ticket, device_id)
    return None


@dataclass
class Client:
    app_id: str
    device_id: str
    service: int
    socket: ServerConnection


@dataclass
class SocketServer(chatkit_socket_server.SocketServer[Client]):
    log_name = "sandbox long connection"

    # --- Handshake ----------------------------------------------------------------------------

    def _refuse(self, status: int, message: str) -> Response:
        """The SDK reads these headers from a refused handshake (lark_oapi/ws/client.py)."""
        headers = Headers(
            {"handshake-status": str(status), "handshake-msg": message, "Content-Length": "0"}
        )
        return Response(status, HTTPStatus(status).phrase, headers, b"")

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if _app_id(request) is None:
            return self._refuse(403, "invalid or expired ticket: ask /callback/ws/endpoint again")
        return None

    # --- Connections --------------------------------------------------------------------------

    async def handle(self, socket: ServerConnection) -> None:
        app_id = _app_id(socket.request) or ""
        if urlsplit(socket.request.path).path == long_connection.RELAY_PATH:
            await self.relay(app_id, socket)
            return
        query = parse_qs(urlsplit(socket.request.path).query)
        device_id = query["device_id"][0]
        client = Client(app_id, device_id, int(query.get("service_id", ["0"])[0]), socket)
        await self.hold(app_id, device_id, client, socket)

    async def receive(self, client: Client, message: str | bytes) -> None:
        if not isinstance(message, bytes):
            return
        frame = Frame()
        frame.ParseFromString(message)
        kind = _header(frame, "type")
        if frame.method == CONTROL and kind == "ping":
            config = json.dumps(long_connection.CLIENT_CONFIG).encode()
            await client.socket.send(_frame(CONTROL, client.service, {"type": "pong"}, config))
        elif frame.method == DATA:
            self.answered(_header(frame, "message_id"), bytes(frame.payload))

    # --- Pushes -------------------------------------------------------------------------------

    async def relay(self, app_id: str, socket: ServerConnection) -> None:
        """One push from the web process: its payload in, the client's answer back."""
        try:
            payload = await socket.recv()
            answer = await self.deliver(app_id, payload)
            await socket.send(answer.to_json())
        except ConnectionClosed:
            pass  # the web process stopped waiting

    async def deliver(self, app_id: str, payload: str | bytes) -> SocketAnswer:
        """Send one push to one connected client of its app and wait for the answer."""
        client = self.pick_client(app_id)
        if client is None:
            return SocketAnswer(error="no client of this app is connected")
        message_id = uuid.uuid4().hex
        headers = {
            "type": "event",
            "message_id": message_id,
            "trace_id": uuid.uuid4().hex,
            "sum": "1",
            "seq": "0",
        }
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        frame = _frame(DATA, client.service, headers, data)
        try:
            answer = await self.send_and_wait(
                client.socket, message_id, frame, ANSWER_TIMEOUT_SECONDS
            )
        except TimeoutError:
            return SocketAnswer(error=NO_ANSWER, device_id=client.device_id)
        except ConnectionClosed:
            return SocketAnswer(error="disconnected", device_id=client.device_id)
        code, text = long_connection.decode_answer(answer)
        return SocketAnswer(code, text[:ANSWER_CHARS], device_id=client.device_id)


def start_in_thread(host: str = "127.0.0.1", port: int = 0) -> Running:
    """Run a server in a daemon thread; returns once it listens (``port`` 0: any free one)."""
    return chatkit_socket_server.start_in_thread(SocketServer(host, port), "sandbox-socket-server")
