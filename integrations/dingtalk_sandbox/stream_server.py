"""The sandbox's Stream server: a small asyncio ``websockets`` server speaking DingTalk's Stream
mode protocol (``stream``'s docstring), so that the official ``dingtalk-stream`` client
connects to it unchanged.

Run by ``manage.py dingtalk_sandbox_stream`` (``dev.py up`` starts it with the sandbox) and, in
tests, in a thread (``start_in_thread``). Deliveries come from the web process over a relay
connection on the same port: one message in, the client's acknowledgement back. The server
needs no database: tickets are signed (``stream.read_ticket``), and each client ticket opens
one connection. The frame of the server (clients held, acknowledgements awaited, running in a
thread) is the toolkit's (``chatkit.sandbox.socket_server``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from integrations.chatkit.sandbox import socket_server as chatkit_socket_server
from integrations.chatkit.sandbox.socket_server import Running
from integrations.dingtalk_sandbox import stream
from integrations.dingtalk_sandbox.stream import StreamAnswer


def _ticket(request: Request) -> tuple[str, str]:
    url = urlsplit(request.path)
    return url.path, (parse_qs(url.query).get("ticket") or [""])[0]


@dataclass
class Client:
    client_id: str
    connection_id: str
    socket: ServerConnection


@dataclass
class StreamServer(chatkit_socket_server.SocketServer[Client]):
    used_tickets: set[str] = field(default_factory=set)

    log_name = "sandbox Stream"

    # --- Handshake ----------------------------------------------------------------------------

    def _client_id(self, request: Request) -> str | None:
        path, ticket = _ticket(request)
        if path == stream.RELAY_PATH:
            return stream.read_ticket(ticket, purpose=stream.RELAY)
        if path == stream.CLIENT_PATH and ticket not in self.used_tickets:
            return stream.read_ticket(ticket)
        return None

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self._client_id(request) is None:
            body = b"invalid, expired or used ticket: open a connection again"
            headers = Headers({"Content-Length": str(len(body))})
            return Response(403, HTTPStatus.FORBIDDEN.phrase, headers, body)
        path, ticket = _ticket(request)
        if path == stream.CLIENT_PATH:
            self.used_tickets.add(ticket)
        return None

    # --- Connections --------------------------------------------------------------------------

    async def handle(self, socket: ServerConnection) -> None:
        client_id = self._client_id_of(socket)
        if urlsplit(socket.request.path).path == stream.RELAY_PATH:
            await self.relay(client_id, socket)
            return
        client = Client(client_id, uuid.uuid4().hex, socket)
        await self.hold(client_id, client.connection_id, client, socket)

    def _client_id_of(self, socket: ServerConnection) -> str:
        path, ticket = _ticket(socket.request)
        purpose = stream.RELAY if path == stream.RELAY_PATH else stream.CLIENT
        return stream.read_ticket(ticket, purpose=purpose) or ""

    async def receive(self, client: Client, message: str | bytes) -> None:
        """A client's acknowledgement of a delivered message."""
        try:
            ack = json.loads(message)
            message_id = ack["headers"]["messageId"]
        except (ValueError, KeyError, TypeError):
            return
        self.answered(message_id, ack)

    # --- Deliveries ---------------------------------------------------------------------------

    async def relay(self, client_id: str, socket: ServerConnection) -> None:
        """One message from the web process: it goes to a client, its acknowledgement back."""
        try:
            message = json.loads(await socket.recv())
            answer = await self.deliver(client_id, message)
            await socket.send(answer.to_json())
        except (ConnectionClosed, ValueError):
            pass  # the web process stopped waiting, or sent no JSON

    async def deliver(self, client_id: str, message: dict) -> StreamAnswer:
        client = self.pick_client(client_id)
        if client is None:
            return StreamAnswer(error="no client of this app is connected")
        headers = message.setdefault("headers", {})
        headers["connectionId"] = client.connection_id
        message_id = headers.setdefault("messageId", uuid.uuid4().hex)
        data = json.dumps(message, ensure_ascii=False)
        try:
            ack = await self.send_and_wait(
                client.socket, message_id, data, stream.ACK_TIMEOUT_SECONDS
            )
        except TimeoutError:
            return StreamAnswer(error="the client did not acknowledge in time")
        except ConnectionClosed:
            return StreamAnswer(error="disconnected")
        code = ack.get("code") if isinstance(ack.get("code"), int) else None
        data = ack.get("data") if isinstance(ack.get("data"), str) else ""
        return StreamAnswer(code, str(ack.get("message") or "")[:200], data=data[:10_000])


def start_in_thread(host: str = "127.0.0.1", port: int = 0) -> Running:
    """Run a server in a daemon thread; returns once it listens (``port`` 0: any free one)."""
    return chatkit_socket_server.start_in_thread(
        StreamServer(host, port), "dingtalk-sandbox-stream"
    )
