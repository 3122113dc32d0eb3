"""The HTTP call of a custom action: its request (method, headers, body), sent signed with the
action's own secrets by ``oncall.webhooks.sending`` (the outbound guard, 5 s to connect and 15 s
in all, no redirects, the answer read up to :data:`ANSWER_BYTES`), like a webhook; and what
happened, in words a responder reads on the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

from oncall.custom_actions import payload, templates
from oncall.models import CustomAction, Incident
from oncall.notify.engine import TemplateFailure
from oncall.webhooks import headers as custom_headers
from oncall.webhooks import sending

ANSWER_BYTES = 1024
USER_AGENT = "oncall-custom-action/1"


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
    headers = custom_headers.outgoing(
        action.headers, {"Content-Type": content_type, "User-Agent": USER_AGENT}
    )
    reply = sending.send_signed(
        action.method,
        action.url,
        body,
        headers,
        secrets=action.signing_secrets(now),
        message_id=message_id,
        answer_bytes=ANSWER_BYTES,
    )
    if reply.refused:
        return Answer(None, reply.duration_ms, f"refused by the console: {reply.refused}")
    if reply.status_code is None:
        return Answer(None, reply.duration_ms, reply.error)
    return Answer(reply.status_code, reply.duration_ms, text=reply.text)
