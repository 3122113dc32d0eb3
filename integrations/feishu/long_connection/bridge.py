"""From the SDK's long-connection client to the console's callback handler.

The SDK hands each event frame's payload to its event handler's ``_do_without_validation``
and sends back what that returns as the frame's answer (``lark_oapi/ws/client.py``). The
console's handler is ordinary Django code, which refuses to run in a thread with a running
event loop (``SynchronousOnlyOperation``); the SDK calls it from inside its loop, so the work
goes to a worker thread and the loop waits for it (a card answer is due within 3 s anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import lark_oapi as lark
from django.db import close_old_connections

from integrations.feishu.inbound import endpoint
from integrations.feishu.inbound.callbacks import Rejected, open_pushed
from integrations.feishu.models import FeishuApp

logger = logging.getLogger(__name__)

# Longer than Feishu waits for a card answer (3 s): a late answer is still recorded.
HANDLER_TIMEOUT_SECONDS = 10.0


class PushRefused(Exception):
    """The pushed event could not be used; the SDK answers the frame with code 500."""


def handle_pushed(app_pk: int, payload: bytes) -> dict[str, Any]:
    """Run one pushed event or card callback through ``endpoint.answer``; its JSON answer."""
    app = FeishuApp.objects.filter(pk=app_pk, enabled=True).first()
    if app is None:
        raise PushRefused("the app is disabled or gone")
    try:
        opened = open_pushed(app, payload)
    except Rejected as rejected:
        logger.warning("Feishu app %s: pushed event refused: %s", app_pk, rejected.reason)
        raise PushRefused(rejected.reason) from None
    answer = endpoint.answer(app, opened)
    if answer.status != 200:
        raise PushRefused(answer.data.get("error", f"HTTP {answer.status}"))
    return answer.data


def _in_request(app_pk: int, payload: bytes) -> dict[str, Any]:
    """``handle_pushed`` as Django runs a request: stale connections closed before and after
    (the worker thread lives as long as the connection, days)."""
    close_old_connections()
    try:
        return handle_pushed(app_pk, payload)
    finally:
        close_old_connections()


class ConsoleEventHandler(lark.EventDispatcherHandler):
    """The event handler the console gives the SDK's client: every frame goes to
    ``handle_pushed`` in ``worker``; ``on_message`` is told of each (the heartbeat)."""

    def __init__(self, app_pk: int, worker: ThreadPoolExecutor, on_message: Callable[[], None]):
        super().__init__()
        self._app_pk = app_pk
        self._worker = worker
        self._on_message = on_message

    def _do_without_validation(self, payload: bytes) -> dict[str, Any]:
        self._on_message()
        future = self._worker.submit(_in_request, self._app_pk, payload)
        return future.result(timeout=HANDLER_TIMEOUT_SECONDS)
