"""Card button clicks, normalised from either callback format, and the answer they get.

Both formats carry the same facts in different places (see /work/shared/FEISHU.md, "Card button
callbacks"); ``CardAction`` holds them once. ``action.value`` is the object the console put on
the button, ``{"action": "claim", "incident": "<public id>"}``: it is looked up, never trusted.

The handler of each action name is listed in ``endpoint.CARD_ACTIONS``; the incident buttons
are ``integrations.feishu.inbound.incident_buttons``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from integrations.feishu.inbound.callbacks import CARD_V1, Callback
from integrations.feishu.models import FeishuApp

ToastType = Literal["success", "info", "warning", "error"]


@dataclass(frozen=True)
class CardAction:
    app: FeishuApp
    format: Literal["new", "old"]
    open_id: str
    union_id: str
    user_id: str
    value: dict
    tag: str
    # The chosen option of a select_static / overflow menu.
    option: str | None
    message_id: str
    chat_id: str
    # The c-... token for a delayed card update (30 min, twice): a credential, never logged.
    update_token: str = field(repr=False)

    @property
    def name(self) -> str:
        name = self.value.get("action")
        return name if isinstance(name, str) else ""


@dataclass(frozen=True)
class CardResponse:
    """What the click's answer shows: a toast, and/or the card that replaces the clicked one."""

    toast: str = ""
    toast_type: ToastType = "info"
    card: dict | None = None

    def body(self, callback_format: Literal["new", "old"]) -> dict:
        if callback_format == "old":
            # The old format has no toast: the answer is the replacement card, or {} to keep it.
            return self.card or {}
        body: dict = {}
        if self.toast:
            body["toast"] = {"type": self.toast_type, "content": self.toast}
        if self.card is not None:
            body["card"] = {"type": "raw", "data": self.card}
        return body


class MalformedAction(ValueError):
    """The callback does not carry the fields a card click must have."""


def card_action(app: FeishuApp, callback: Callback) -> CardAction:
    """The click in ``callback`` (either format) as one ``CardAction``."""
    if callback.type == CARD_V1:
        return _from_old_format(app, callback.payload)
    return _from_new_format(app, callback.event)


def _from_new_format(app: FeishuApp, event: dict) -> CardAction:
    operator = _object(event, "operator")
    context = _object(event, "context")
    action = _object(event, "action")
    return CardAction(
        app=app,
        format="new",
        open_id=_text(operator, "open_id"),
        union_id=_text(operator, "union_id"),
        user_id=_text(operator, "user_id"),
        value=_value(action),
        tag=_text(action, "tag"),
        option=_option(action),
        message_id=_text(context, "open_message_id"),
        chat_id=_text(context, "open_chat_id"),
        update_token=_text(event, "token"),
    )


def _from_old_format(app: FeishuApp, payload: dict) -> CardAction:
    action = _object(payload, "action")
    return CardAction(
        app=app,
        format="old",
        open_id=_text(payload, "open_id"),
        union_id=_text(payload, "union_id"),
        user_id=_text(payload, "user_id"),
        value=_value(action),
        tag=_text(action, "tag"),
        option=_option(action),
        message_id=_text(payload, "open_message_id"),
        chat_id=_text(payload, "open_chat_id"),
        update_token=_text(payload, "token"),
    )


def _object(parent: dict, key: str) -> dict:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedAction(f"{key} must be an object")
    return value


def _text(parent: dict, key: str) -> str:
    value = parent.get(key)
    return value if isinstance(value, str) else ""


def _value(action: dict) -> dict:
    value = action.get("value")
    if isinstance(value, dict):
        return value
    if value in (None, ""):
        return {}
    raise MalformedAction("action.value must be an object")


def _option(action: dict) -> str | None:
    option = action.get("option")
    return option if isinstance(option, str) else None
