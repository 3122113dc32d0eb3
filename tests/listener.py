"""A TCP listener on loopback that records what it is sent: proof of what reached a host (or that
nothing did), without the network."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Listener:
    """``with Listener(answer=...) as listener``: accepts connections on 127.0.0.1:``port``,
    keeps the request each sent (``received``) and answers ``answer`` (nothing: close)."""

    def __init__(self, answer: bytes = HTTP_OK):
        self.answer = answer
        self.received: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()

    @property
    def everything(self) -> bytes:
        return b"".join(self.received)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _address = self._server.accept()
            except TimeoutError:
                continue
            with connection:
                self.received.append(_read_request(connection))
                if self.answer:
                    with contextlib.suppress(OSError):
                        connection.sendall(self.answer)


def _read_request(connection: socket.socket) -> bytes:
    """An HTTP request's head and its Content-Length body, or whatever arrived (a TLS hello)
    before the sender went quiet."""
    connection.settimeout(0.5)
    data = b""
    while True:
        head, separator, body = data.partition(b"\r\n\r\n")
        if separator and len(body) >= _content_length(head):
            return data
        try:
            chunk = connection.recv(65536)
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _colon, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip() or 0)
    return 0
