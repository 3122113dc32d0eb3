"""The frame of a sandbox's socket server: a small asyncio ``websockets`` server that a platform's
official SDK client connects to unchanged, and that the web process pushes through.

Clients of one app (``key``) connect and stay; each push comes from the web process over a relay
connection on the same port: one message in, the client's answer back. A subclass speaks its
platform's frames: who may connect (``process_request``), what a connection is (``handle``, with
``hold`` keeping a client's connection), what a client's message answers (``receive``, with
``answered``), and how a push reaches one client (``deliver``, with ``send_and_wait``). The server
needs no database; tests run it in a thread (``start_in_thread``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

ClientT = TypeVar("ClientT")


@dataclass
class SocketServer(ABC, Generic[ClientT]):
    host: str
    port: int
    # The connected clients of each app, by their connection's id.
    clients: dict[str, dict[str, ClientT]] = field(default_factory=dict)
    # The pushes waiting for a client's answer, by message id.
    waiting: dict[str, asyncio.Future] = field(default_factory=dict)
    server: Server | None = None

    # Who the log lines say is speaking ("sandbox Stream").
    log_name = "sandbox socket server"

    @abstractmethod
    async def handle(self, socket: ServerConnection) -> None:
        """One connection: a client's (``hold``) or the web process's relay."""

    @abstractmethod
    async def receive(self, client: ClientT, message: str | bytes) -> None:
        """One message of a connected client (an answer: ``answered``)."""

    # --- A client's connection ------------------------------------------------------------

    async def hold(self, key: str, connection_id: str, client: ClientT, socket: Any) -> None:
        """Keep ``client`` connected until it leaves, reading each of its messages."""
        self.clients.setdefault(key, {})[connection_id] = client
        # Logged under the platform's sandbox module, whose words these are.
        logger = logging.getLogger(type(self).__module__)
        logger.info("%s: %s connected (%s)", self.log_name, key, connection_id)
        try:
            async for message in socket:
                await self.receive(client, message)
        except ConnectionClosed:
            pass
        finally:
            self.clients.get(key, {}).pop(connection_id, None)
            logger.info("%s: %s disconnected (%s)", self.log_name, key, connection_id)

    def pick_client(self, key: str) -> ClientT | None:
        """One connected client of the app, as the platform picks one; None when none is."""
        clients = list(self.clients.get(key, {}).values())
        return random.choice(clients) if clients else None  # noqa: S311 - not a secret

    # --- A push and its answer ------------------------------------------------------------------

    async def send_and_wait(
        self, socket: Any, message_id: str, data: str | bytes, timeout: float
    ) -> Any:
        """Send ``data`` and wait for what ``answered(message_id, …)`` is given. Raises
        ``TimeoutError`` without an answer in time, ``ConnectionClosed`` when the client left."""
        answered = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = answered
        try:
            await socket.send(data)
            return await asyncio.wait_for(answered, timeout=timeout)
        finally:
            self.waiting.pop(message_id, None)

    def answered(self, message_id: str, answer: Any) -> None:
        """A client answered ``message_id`` (an answer nobody waits for any more is dropped)."""
        waiting = self.waiting.pop(message_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(answer)

    # --- Running ------------------------------------------------------------------------------

    def process_request(self, connection: ServerConnection, request: Any) -> Any:
        """The handshake: None lets it through, a ``Response`` refuses it."""
        return None

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

    server: SocketServer
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task
    thread: threading.Thread

    @property
    def address(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def connected(self, key: str) -> int:
        """How many clients of the app ``key`` are connected."""
        return len(self.server.clients.get(key, {}))

    def stop(self, timeout: float = 10) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(timeout=timeout)


def start_in_thread(server: SocketServer, thread_name: str) -> Running:
    """Run ``server`` in a daemon thread; returns once it listens (``port`` 0: any free one)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    task = loop.create_task(server.run(started))

    def main() -> None:
        asyncio.set_event_loop(loop)
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=main, name=thread_name, daemon=True)
    thread.start()
    if not started.wait(timeout=10):
        raise RuntimeError(f"the {server.log_name} did not start")
    return Running(server, loop, task, thread)
