"""The SMTP listener (aiosmtpd): it takes mail for the e-mail sources' addresses and nothing
else, stores each message before answering ``250``, and leaves the reading to a worker.

Answers, by step of the SMTP conversation:

* ``RCPT TO`` an address of another domain: ``550 5.1.2``; of no e-mail source: ``550 5.1.1``;
  of a disabled source: ``550 5.7.1`` naming it; of a source whose ``allowed_senders`` do not
  hold the ``MAIL FROM``: ``550 5.7.1``; past ``MAX_RECIPIENTS``: ``452 4.5.3``.
* ``MAIL FROM ... SIZE=`` above ``ALERT_EMAIL_MAX_BYTES``, or DATA that grows past it: ``552``
  (aiosmtpd counts as it reads and keeps nothing past the limit).
* DATA stored: ``250``; the database unreachable: ``451 4.3.0``, so that the sending server
  keeps the message and tries again (a mail is never answered 250 and then lost).

It never relays and asks for no authentication: it is the last stop for its own domain, as an
MX is. Run it with ``manage.py alert_smtpd`` (README, "E-mail").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections

from integrations.sources.email import intake

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RECIPIENTS = 50
SWEEP_SECONDS = 30.0


class AlertSMTP(SMTP):
    # RFC 5321 limits a line to 1000 octets, and some alerting tools write longer ones (an
    # HTML body on one line). Refusing them would lose the alert; the message size limit
    # still bounds what is read.
    line_length_limit = 64 * 1024


class AlertMailHandler:
    """aiosmtpd's handler hooks; the database work runs in Django's one sync thread."""

    def __init__(self) -> None:
        self._recipient = in_django(intake.recipient)
        self._store = in_django(intake.store)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            # MAIL FROM came first (aiosmtpd refuses RCPT before it): each recipient source's
            # allowed_senders are checked here, so that one source's refusal spares the others.
            found = await self._recipient(address, envelope.mail_from or "")
        except intake.Refused as refused:
            masked = intake.masked(address)
            logger.info("refused RCPT TO %s from %s: %s", masked, session.peer, refused.reply)
            return refused.reply
        except Exception:
            logger.exception("looking up RCPT TO %s failed", address)
            return "451 4.3.0 Temporary failure: try again later"
        envelope.rcpt_tos.append(address)
        _recipients(envelope).append(found)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            stored = await self._store(
                raw,
                _recipients(envelope),
                envelope_from=envelope.mail_from or "",
                peer=_peer(session),
            )
        except Exception:
            logger.exception("storing a message from %s failed", session.peer)
            return "451 4.3.0 Temporary failure: try again later"
        logger.info("stored %d byte(s) from %s as mail %s", len(raw), session.peer, stored)
        return "250 OK: queued as " + ",".join(str(pk) for pk in stored)


def in_django(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """``function`` run in Django's sync thread, its database connection checked first as
    Django does at each request: a long-lived process must drop a connection the database
    server closed (a restart, ``CONN_MAX_AGE``) instead of failing on it."""

    def fresh(*args: Any, **kwargs: Any) -> T:
        close_old_connections()
        return function(*args, **kwargs)

    return sync_to_async(fresh)


def _recipients(envelope: Envelope) -> list[intake.Recipient]:
    # aiosmtpd gives a fresh Envelope per transaction (RSET and MAIL reset it): the sources
    # found at RCPT travel on it to DATA.
    found = getattr(envelope, "alert_recipients", None)
    if found is None:
        found = []
        envelope.alert_recipients = found
    return found


def _peer(session: Session) -> str:
    peer: Any = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")


def _factory() -> AlertSMTP:
    return AlertSMTP(
        AlertMailHandler(),
        data_size_limit=settings.ALERT_EMAIL_MAX_BYTES,
        enable_SMTPUTF8=True,
        hostname=settings.ALERT_EMAIL_DOMAIN,
        ident="on-call alert mail",
    )


async def serve(
    host: str, port: int, *, on_ready: Callable[[tuple[str, int]], None] | None = None
) -> None:
    """Listen until cancelled, sweeping lost mails every ``SWEEP_SECONDS``; ``on_ready`` is
    told the bound (host, port) once connections are taken."""
    # aiosmtpd logs every command at INFO, the RCPT TO addresses (each a source's secret)
    # among them: its warnings and errors are enough.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_factory, host=host, port=port)
    bound = server.sockets[0].getsockname()[:2]
    logger.info("alert mail listener on %s:%s for @%s", *bound, settings.ALERT_EMAIL_DOMAIN)
    if on_ready is not None:
        on_ready(bound)
    sweeper = asyncio.create_task(_sweep_forever())
    try:
        async with server:
            await server.serve_forever()
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        # The sync thread's connection would outlive the listener (and keep a test database
        # from being dropped).
        await sync_to_async(connections.close_all)()


async def _sweep_forever() -> None:
    sweep = in_django(intake.sweep)
    while True:
        # First after a pause: a mail stored just before a restart is not "lost" yet.
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await sweep()
        except Exception:
            logger.exception("the inbound mail sweep failed")


class Listener:
    """The listener in a thread of its own, for tests and embedding: ``start()`` returns the
    bound (host, port) (port 0 picks a free one), ``stop()`` closes it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.bound: tuple[str, int] = (host, port)
        self._thread = threading.Thread(target=self._run, name="alert-smtpd", daemon=True)
        self._task: asyncio.Task | None = None

    def start(self) -> tuple[str, int]:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the alert mail listener did not start")
        return self.bound

    def stop(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)

    def _bound(self, bound: tuple[str, int]) -> None:
        self.bound = bound
        self._ready.set()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(serve(self.host, self.port, on_ready=self._bound))
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        self._loop.close()
