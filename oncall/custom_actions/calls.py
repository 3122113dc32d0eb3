"""The HTTP call of a custom action: its request (method, headers, body, Standard Webhooks
signature with the action's own secrets), sent through the outbound guard with a 5 s connect
and 15 s total budget, no redirects followed, the answer read up to :data:`ANSWER_BYTES`; and
what happened, in words a responder reads on the timeline.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError

from oncall import outbound
from oncall.custom_actions import payload, templates
from oncall.models import CustomAction, Incident
from oncall.notify.engine import TemplateFailure
from oncall.webhooks import signing

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
ANSWER_BYTES = 1024
USER_AGENT = "oncall-custom-action/1"
# Headers the console sets itself: an action's own headers may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "content-length",
        "host",
        "user-agent",
        "transfer-encoding",
        "connection",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)


class NotCalled(Exception):
    """The request could not be made (its body template fails): nothing was sent."""


@dataclass(frozen=True)
class Answer:
    """What a call came to: the receiver's status code, or ``error`` in words."""

    status_code: int | None
    duration_ms: int
    error: str = ""
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        """ "200 in 340 ms", "answered 500 Internal Server Error in 12 ms", "the connection
        was refused"."""
        if self.status_code is None:
            return self.error
        if self.ok:
            return f"{self.status_code} in {self.duration_ms} ms"
        return f"answered {_status_words(self.status_code)} in {self.duration_ms} ms"


def _status_words(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def headers_of(action: CustomAction) -> dict[str, str]:
    """The action's own headers (stored encrypted as a JSON object)."""
    if not action.headers_json:
        return {}
    try:
        loaded = json.loads(action.headers_json)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def request_body(
    action: CustomAction, incident: Incident, user: Any, message_id: str, at: datetime
) -> bytes:
    """The bytes sent (and signed). Raises :class:`NotCalled` when the template fails."""
    if action.body_kind == CustomAction.BodyKind.PAYLOAD:
        return payload.body(action, incident, user, message_id, at).encode()
    try:
        return templates.render_body(action.body_template, action.content_type, incident).encode()
    except TemplateFailure as failure:
        raise NotCalled(f"its body template failed: {failure}") from None


def call(action: CustomAction, body: bytes, message_id: str, now: datetime) -> Answer:
    """Send ``body`` to the action's URL, signed; never raises for what the receiver or the
    network does."""
    content_type = (
        "application/json"
        if action.body_kind == CustomAction.BodyKind.PAYLOAD
        else action.content_type
    )
    own = {k: v for k, v in headers_of(action).items() if k.lower() not in RESERVED_HEADERS}
    headers = {
        **own,
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        **signing.sign(action.signing_secrets(now), message_id, body),
    }
    started = time.monotonic()
    try:
        with outbound.session() as session:
            response = session.request(
                action.method,
                action.url,
                data=body,
                headers=headers,
                timeout=(CONNECT_TIMEOUT, TOTAL_TIMEOUT),
                stream=True,
            )
            with response:
                text = _read_capped(response, started + TOTAL_TIMEOUT)
    except outbound.OutboundRefused as refused:
        return Answer(None, _since(started), f"refused by the console: {refused}")
    except (requests.RequestException, TimeoutError) as error:
        return Answer(None, _since(started), in_words(error))
    return Answer(response.status_code, _since(started), text=text)


def _read_capped(response: requests.Response, deadline: float) -> str:
    """The first :data:`ANSWER_BYTES` of the answer, read before ``deadline``: a receiver can
    neither make the console download a gigabyte nor keep it waiting past the budget."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= ANSWER_BYTES:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"no complete answer within {TOTAL_TIMEOUT:g} s")
    return b"".join(chunks)[:ANSWER_BYTES].decode(errors="replace")


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def in_words(error: BaseException) -> str:
    """A network failure as a responder reads it (requests nests the cause several levels)."""
    if isinstance(error, TimeoutError):
        return str(error)
    if isinstance(error, requests.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(error, requests.ReadTimeout):
        return f"no answer within {TOTAL_TIMEOUT:g} s"
    if isinstance(error, requests.exceptions.SSLError):
        return "the TLS handshake failed (is the certificate valid for this host?)"
    causes = _causes(error)
    if any(isinstance(cause, NameResolutionError) for cause in causes):
        return "the host name could not be resolved"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes) or "refused" in str(
        error
    ):
        return "the connection was refused"
    if isinstance(error, requests.ConnectionError):
        return "the connection failed or was closed without an answer"
    return f"the call failed ({type(error).__name__})"


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack: list[Any] = [error]
    while stack and len(seen) < 20:
        current = stack.pop()
        if current is None or current in seen:
            continue
        seen.append(current)
        stack.extend([current.__cause__, current.__context__, *getattr(current, "args", ())])
        stack.append(getattr(current, "reason", None))
        stack = [item for item in stack if isinstance(item, BaseException) or item is None]
    return seen
