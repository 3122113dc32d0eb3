"""Huawei Cloud Simple Message Notification (SMN): the envelope in which Cloud Eye, LTS and APM
alarms reach an HTTP(S) subscription, and the subscription's confirmation.

An SMN push is a JSON object with ``type`` (``SubscriptionConfirmation``, ``Notification``,
``UnsubscribeConfirmation``), ``message`` (the publisher's text: JSON for the services read
here), ``subject``, ``topic_urn``, ``message_id``, ``timestamp``, ``signature`` and, for a
confirmation, ``subscribe_url``, which the subscriber must GET to confirm. See
https://support.huaweicloud.com/intl/en-us/ae-ad-1-usermanual-smn/smn_ug_a9002.html

Used by ``huawei_ces``, ``huawei_lts`` and ``huawei_apm``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.sources.common import embedded_json, get_str, require_object, truncate
from oncall import outbound
from oncall.events import PayloadError
from oncall.sources import Answer, console_error

logger = logging.getLogger(__name__)

CONTROL_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
# SMN's own hosts: the console never GETs a subscribe_url anywhere else (it is sender-given).
SMN_HOST_SUFFIXES = (".myhuaweicloud.com", ".huaweicloud.com", ".myhuaweicloud.eu")
CONFIRM_TIMEOUT_SECONDS = 5


def is_envelope(payload: Any) -> bool:
    """Whether ``payload`` is an SMN push (it has SMN's ``type`` and ``topic_urn``)."""
    return isinstance(payload, dict) and "topic_urn" in payload and "type" in payload


def message_of(payload: Any) -> tuple[Any, str]:
    """The publisher's message and SMN's ``subject`` of a ``Notification``, or, for a body that
    is not an SMN envelope (a direct HTTP push), the body itself and ``""``. The message is
    decoded when it is JSON text; plain text is returned as it is."""
    body = require_object(payload, None)
    if not is_envelope(body):
        return body, ""
    kind = get_str(body, "type", field="type", required=True).strip()
    if kind != "Notification":
        raise PayloadError(
            f"type must be Notification for an alarm, not {truncate(kind, 40)!r}", field="type"
        )
    raw = body.get("message")
    if raw is None:
        raise PayloadError("message is required", field="message")
    subject = get_str(body, "subject", field="subject").strip()
    if isinstance(raw, str) and raw.lstrip().startswith(("{", "[")):
        return embedded_json(raw, field="message"), subject
    return raw, subject


def inner_object(payload: Any) -> dict[str, Any] | None:
    """The message as an object, for ``recognises``: never raises."""
    try:
        message, _ = message_of(payload)
    except PayloadError:
        return None
    return message if isinstance(message, dict) else None


def handshake(payload: Any) -> Answer | None:
    """Confirm a subscription (GET its ``subscribe_url``), acknowledge an unsubscription;
    ``None`` for anything else. Nothing is stored either way."""
    if not (is_envelope(payload) and payload.get("type") in CONTROL_TYPES):
        return None
    if payload["type"] == "UnsubscribeConfirmation":
        return Answer(200, {"unsubscribed": True})
    return confirm(payload.get("subscribe_url"))


def confirm(url: Any) -> Answer:
    """GET SMN's ``subscribe_url`` through the outbound guard, so that the subscription turns
    to "Confirmed" in the SMN console without anyone copying the link."""
    url = url if isinstance(url, str) else ""
    host = urlsplit(url).hostname or ""
    if not (url.startswith("https://") and host.endswith(SMN_HOST_SUFFIXES)):
        return console_error(
            400,
            "invalid_payload",
            "subscribe_url must be an https address of Huawei Cloud SMN",
            field="subscribe_url",
        )
    try:
        response = outbound.session().get(url, timeout=CONFIRM_TIMEOUT_SECONDS)
        response.raise_for_status()
    except (requests.RequestException, outbound.OutboundRefused) as error:
        # SMN sends the confirmation again when it gets no 2xx, so a 502 is worth returning.
        logger.warning("SMN subscription confirmation failed for host %s: %s", host, error)
        return console_error(
            502, "confirmation_failed", f"Could not confirm the SMN subscription: {error}"
        )
    return Answer(200, {"confirmed": True})
