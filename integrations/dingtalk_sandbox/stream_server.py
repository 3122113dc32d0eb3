"""The sandbox's Stream server: a small asyncio ``websockets`` server speaking DingTalk's Stream
mode protocol (``stream``'s docstring), so that the official ``dingtalk-stream`` client
connects to it unchanged.

Run by ``manage.py dingtalk_sandbox_stream`` (``dev.py up`` starts it with the sandbox) and, in
tests, in a thread (``start_in_thread``). Deliveries come from the web process over a relay
connection on the same port: one message in, the client's acknowledgement back. The server
needs no database: tickets are signed (``stream.read_ticket``), and each client ticket opens
one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from integrations.dingtalk_sandbox import stream
from integrations.dingtalk_sandbox.stream import StreamAnswer

logger = logging.getLogger(__name__)


def _ticket(request: Request) -> tuple[str, str]:
    url = urlsplit(request.path)
    return url.path, (parse_qs(url.query).get("ticket") or [""])[0]


@dataclass
class Client:
    client_id: str
    connection_id: str
    socket: ServerConnection


@dataclass
class StreamServer:
    host: str
    port: int
    clients: dict[str, dict[str, Client]] = field(default_factory=dict)
    waiting: dict[str, asyncio.Future] = field(default_factory=dict)
    used_tickets: set[str] = field(default_factory=set)
    server: Server | None = None

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
        self.clients.setdefault(client_id, {})[client.connection_id] = client
        logger.info("sandbox Stream: %s connected (%s)", client_id, client.connection_id)
        try:
            async for message in socket:
                self._acknowledged(message)
        except ConnectionClosed:
            pass
        finally:
            self.clients.get(client_id, {}).pop(client.connection_id, None)
            logger.info("sandbox Stream: %s disconnected (%s)", client_id, client.connection_id)

    def _client_id_of(self, socket: ServerConnection) -> str:
        path, ticket = _ticket(socket.request)
        purpose = stream.RELAY if path == stream.RELAY_PATH else stream.CLIENT
        return stream.read_ticket(ticket, purpose=purpose) or ""

    def _acknowledged(self, message: str | bytes) -> None:
        try:
            ack = json.loads(message)
            message_id = ack["headers"]["messageId"]
        except (ValueError, KeyError, TypeError):
            return
        waiting = self.waiting.pop(message_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(ack)

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
        clients = list(self.clients.get(client_id, {}).values())
        if not clients:
            return StreamAnswer(error="no client of this app is connected")
        client = random.choice(clients)  # noqa: S311 - which connection, not a secret
        headers = message.setdefault("headers", {})
        headers["connectionId"] = client.connection_id
        message_id = headers.setdefault("messageId", uuid.uuid4().hex)
        acknowledged = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = acknowledged
        try:
            await client.socket.send(json.dumps(message, ensure_ascii=False))
            ack = await asyncio.wait_for(acknowledged, timeout=stream.ACK_TIMEOUT_SECONDS)
        except TimeoutError:
            return StreamAnswer(error="the client did not acknowledge in time")
        except ConnectionClosed:
            return StreamAnswer(error="disconnected")
        finally:
            self.waiting.pop(message_id, None)
        code = ack.get("code") if isinstance(ack.get("code"), int) else None
        data = ack.get("data") if isinstance(ack.get("data"), str) else ""
        return StreamAnswer(code, str(ack.get("message") or "")[:200], data=data[:10_000])

    # --- Running ------------------------------------------------------------------------------

    async def run(self, started: threading.Event | None = None) -> None:
        async with serve(
            self.handle, self.host, self.port, process_request=self.process_request
        ) as server:
            self.server = server
            self.port = server.sockets[0].getsockname()[1]
            if started is not None:
                started.set()
            await server.serve_forever()


@dataclass
class Running:
    """A server running in a thread of its own (tests)."""

    server: StreamServer
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task
    thread: threading.Thread

    @property
    def address(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def connected(self, client_id: str) -> int:
        return len(self.server.clients.get(client_id, {}))

    def stop(self, timeout: float = 10) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(timeout=timeout)


def start_in_thread(host: str = "127.0.0.1", port: int = 0) -> Running:
    """Run a server in a daemon thread; returns once it listens (``port`` 0: any free one)."""
    server = StreamServer(host, port)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    task = loop.create_task(server.run(started))

    def main() -> None:
        asyncio.set_event_loop(loop)
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=main, name="dingtalk-sandbox-stream", daemon=True)
    thread.start()
    if not started.wait(timeout=10):
        raise RuntimeError("the sandbox's Stream server did not start")
    return Running(server, loop, task, thread)
