"""Fixtures the DingTalk tests share, and ``Pusher``: a push signed and sealed as DingTalk's
helpers do (``integrations.dingtalk.client.crypto``, itself checked against DingTalk's published
values in test_crypto.py)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from integrations.dingtalk.client import crypto
from integrations.dingtalk.models import DingTalkApp
from tests.dingtalk.cards_world import live, world  # noqa: F401 -- the card tests' fixtures
from tests.dingtalk.factories import DingTalkAppFactory


@pytest.fixture
def app(db) -> DingTalkApp:
    return DingTalkAppFactory()


@dataclass
class Pusher:
    """Builds and sends pushes to ``app``'s request URL; each keyword overrides what DingTalk
    would send (``token``, ``aes_key``, ``owner`` to sign or seal with other keys)."""

    client: Client
    app: DingTalkApp
    sent: list[tuple[dict, dict]] = field(default_factory=list)

    def signed(
        self,
        event: dict[str, Any] | str,
        *,
        token: str | None = None,
        aes_key: str | None = None,
        owner: str | None = None,
        timestamp: str | None = None,
        nonce: str = "WL4PK6yA",
    ) -> tuple[dict[str, str], dict[str, str]]:
        text = event if isinstance(event, str) else json.dumps(event)
        encrypted = crypto.encrypt(aes_key or self.app.aes_key, owner or self.app.client_id, text)
        timestamp = timestamp or str(int(time.time() * 1000))
        signature = crypto.signature(token or self.app.signature_token, timestamp, nonce, encrypted)
        query = {"signature": signature, "timestamp": timestamp, "nonce": nonce}
        return query, {"encrypt": encrypted}

    def send(self, query: dict[str, str], body: Any) -> Any:
        self.sent.append((query, body))
        url = f"{reverse('dingtalk:events', args=[self.app.public_id])}?{urlencode(query)}"
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return self.client.post(url, data=data, content_type="application/json")

    def push(self, event: dict[str, Any] | str, **options: Any) -> Any:
        return self.send(*self.signed(event, **options))


@pytest.fixture
def pusher(client, app) -> Pusher:
    return Pusher(client, app)


def opened_answer(app: DingTalkApp, response: Any) -> str:
    """What the console's answer says, after checking its signature as DingTalk does."""
    answer = response.json()
    expected = crypto.signature(
        app.signature_token, answer["timeStamp"], answer["nonce"], answer["encrypt"]
    )
    assert crypto.signatures_match(expected, answer["msg_signature"])
    return crypto.decrypt(app.aes_key, app.client_id, answer["encrypt"])


def install_event(group_id: str = "cidGroup0001", event_id: str = "ev-install-1") -> dict:
    """An ``im_cool_app_install`` HTTP push body, as DingTalk's document shows it."""
    return {
        "EventType": "im_cool_app_install",
        "EventTime": 1663143335567,
        "CorpId": "ding9f50b15bxxxx16741",
        "BizId": "1663135567",
        "eventId": event_id,
        "coolAppCode": "COOLAPP-1-1018abcdef",
        "operateTime": "1641866135051",
        "openConversationCorpId": "ding9bd1bfb59abc",
        "robotCode": "rBLBXuiaA2rn3abc",
        "openConversationId": group_id,
        "operator": "0213454001745",
    }


def uninstall_event(group_id: str = "cidGroup0001", event_id: str = "ev-uninstall-1") -> dict:
    return install_event(group_id, event_id) | {"EventType": "im_cool_app_uninstall"}


def rename_event(title: str, group_id: str = "cidGroup0001", event_id: str = "ev-rename-1") -> dict:
    """A ``chat_update_title`` HTTP push body, as DingTalk's document shows it."""
    return {
        "EventType": "chat_update_title",
        "EventTime": 1663143335567,
        "CorpId": "ding9f50b15bxxxx16741",
        "BizId": "1663135567",
        "eventId": event_id,
        "timeStamp": 1608027247528,
        "chatId": "chat676e50a07abcd",
        "corpId": "dinge8a56572f80babcd",
        "operatorUnionId": "ZPbvHDqDOabcdLLtBDplS",
        "title": title,
        "openConversationId": group_id,
        "operator": "user456",
    }
