"""The one seam between the console and the Feishu / Lark Open API.

``FeishuClient`` wraps one ``requests.Session``: every answer is parsed as JSON and judged by its
``code`` (0 = success), never by the HTTP status; failures become the typed errors of
``integrations.feishu.client.errors``. The tenant token is cached in the Django cache and refreshed
once when Feishu says it is invalid (any of the token codes Feishu documents). With a limiter,
every call first waits for the console's shared rate limits (the toolkit's
``integrations.chatkit.ratelimit``, counting Feishu's figures named here), the app-wide 50/s
included; with a meter, every call that leaves is counted against the tenant's monthly quota
(``Meter``, kept by ``integrations.feishu.budget``).

Every session is the core's guarded one (``oncall.outbound``): an app's base URL is set by an
admin, so each connection goes only to an address checked against the SSRF rules, and no
redirect is followed. The built-in Feishu and Lark hosts go through the same guard: they resolve
to public addresses, and one transport for all is simpler to reason about than a trusted list.

Logs carry the method, the path and Feishu's code: never a token, a secret or a body.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from django.core.cache import cache

from integrations.chatkit.ratelimit import DEFAULT_MAX_WAIT, Limit, Limiter, wait_for
from integrations.feishu.client import errors
from oncall import outbound

logger = logging.getLogger(__name__)

TENANT_AUTH_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
# Refresh the cached tenant token this long before Feishu's `expire`.
TOKEN_EARLY_REFRESH_SECONDS = 300
BATCH_GET_ID_CHUNK = 50
CHAT_MEMBERS_CHUNK = 50
LIST_CHATS_PAGE_SIZE = 100
# Feishu counts a call when it arrives, the limiter here when it admits it: a call admitted a
# full window after the one it replaces may still arrive less than a window after it when that
# one was quicker to get there. A place in a window frees 100 ms late to absorb that difference
# (the 50/s becomes 50 per 1.1 s at worst; a 2,000-card fan-out stays within 5 % of the
# limits' minimum, tests/feishu/test_fanout_pacing.py).
EDGE_GUARD_MS = 100


@dataclass(frozen=True)
class AppCredentials:
    """One custom app on one platform. Bases have no trailing slash, e.g.
    ``https://open.feishu.cn`` and ``https://accounts.feishu.cn`` (Lark: ``*.larksuite.com``)."""

    app_id: str
    app_secret: str = field(repr=False)
    open_api_base: str
    accounts_base: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "open_api_base", self.open_api_base.rstrip("/"))
        object.__setattr__(self, "accounts_base", self.accounts_base.rstrip("/"))


_pooled = threading.local()


def pooled_session() -> outbound.GuardedSession:
    """A session kept for the life of this process and thread, for callers that make many
    calls one task after another (card sends): its connections stay open between calls
    (keep-alive), where a new session per call paid a TCP connection each time, on both ends.

    One per thread (``requests.Session`` is not documented as thread-safe) and per process id:
    a worker process forked from one that had used it never shares its parent's sockets."""
    session = getattr(_pooled, "session", None)
    if session is None or _pooled.pid != os.getpid():
        session = outbound.session()
        _pooled.session, _pooled.pid = session, os.getpid()
    return session


def token_cache_key(credentials: AppCredentials) -> str:
    """Cache key of an app's tenant token: a hash, so the secret never appears in the key."""
    material = "\0".join((credentials.open_api_base, credentials.app_id, credentials.app_secret))
    return "feishu:tenant-token:" + hashlib.sha256(material.encode()).hexdigest()


class Meter(Protocol):
    """Counts an app's Open API calls against its tenant's monthly quota (Feishu's free
    edition: 10,000 calls a month)."""

    def count_call(self) -> None:
        """Count one call about to be sent; raise ``QuotaExhausted`` instead (counting nothing)
        when Feishu already said this month's quota is spent."""

    def quota_refused(self, exc: errors.QuotaExhausted) -> errors.QuotaExhausted:
        """Feishu answered 99991403: remember it, and return the error to raise."""


class FeishuClient:
    """Typed calls to the Open API for one app. Not tied to a request: build one per task."""

    def __init__(
        self,
        credentials: AppCredentials,
        *,
        session: outbound.GuardedSession | None = None,
        timeout: float | tuple[float, float] = (3.05, 10),
        limiter: Limiter | None = None,
        sleep: Callable[[float], object] = time.sleep,
        max_wait: float = DEFAULT_MAX_WAIT,
        meter: Meter | None = None,
    ):
        self.credentials = credentials
        self.meter = meter
        self.session = session or outbound.session()
        self.timeout = timeout
        self.limiter = limiter
        self._sleep = sleep
        self._max_wait = max_wait
        self._secrets: set[str] = {credentials.app_secret}

    # --- Tenant token ---------------------------------------------------------------------

    # https://open.feishu.cn/document/server-docs/authentication-management/access-token/tenant_access_token_internal
    def tenant_access_token(self) -> str:
        """The app's tenant token, from the cache or fetched (and cached until 5 min before
        it expires). Raises ``AuthError`` when Feishu refuses the App ID / App Secret."""
        key = token_cache_key(self.credentials)
        token = cache.get(key)
        if token:
            self._secrets.add(token)
            return token
        body = {"app_id": self.credentials.app_id, "app_secret": self.credentials.app_secret}
        try:
            payload = self._call("POST", TENANT_AUTH_PATH, json=body, limits=self._app_limits())
        except (errors.DestinationRefused, errors.QuotaExhausted):
            raise  # the host is wrong, or the month's calls are spent: not the credentials
        except errors.PermanentError as exc:
            raise errors.AuthError(
                exc.msg, code=exc.code, http_status=exc.http_status, app_id=self.credentials.app_id
            ) from None
        token = payload.get("tenant_access_token")
        if not isinstance(token, str) or not token:
            raise errors.TransientError("Feishu's token answer has no tenant_access_token")
        self._secrets.add(token)
        lifetime = _int(payload.get("expire")) - TOKEN_EARLY_REFRESH_SECONDS
        if lifetime > 0:
            cache.set(key, token, timeout=lifetime)
        return token

    def forget_token(self) -> None:
        cache.delete(token_cache_key(self.credentials))

    # --- Messages -------------------------------------------------------------------------

    # https://open.feishu.cn/document/server-docs/im-v1/message/create
    def send_message(self, receive_id_type: str, receive_id: str, card: dict, uuid: str) -> str:
        """Send an interactive card; returns its ``message_id``. The same ``uuid`` is
        delivered at most once per hour, so a retry with it cannot post twice."""
        return self._send(receive_id_type, receive_id, "interactive", card, uuid)

    def _send(
        self, receive_id_type: str, receive_id: str, msg_type: str, content: dict, uuid: str
    ) -> str:
        body = {
            "receive_id": receive_id,
            "msg_type": msg_type,
            "content": json.dumps(content),
            "uuid": uuid,
        }
        data = self._api(
            "POST",
            "/open-apis/im/v1/messages",
            params={"receive_id_type": receive_id_type},
            json=body,
            limits=self._send_limits(receive_id_type, receive_id),
        )
        return data["message_id"]

    def _send_limits(self, receive_id_type: str = "", receive_id: str = "") -> list[Limit]:
        return send_limits(self.credentials.app_id, receive_id_type, receive_id)

    # https://open.feishu.cn/document/server-docs/im-v1/message/create
    def send_text(self, receive_id_type: str, receive_id: str, text: str, uuid: str) -> str:
        """Send a plain-text message; returns its ``message_id`` (idempotent by ``uuid``)."""
        return self._send(receive_id_type, receive_id, "text", {"text": text}, uuid)

    # https://open.feishu.cn/document/server-docs/im-v1/message/reply
    def reply_text(self, message_id: str, text: str, uuid: str, *, chat_id: str = "") -> str:
        """Answer a message in its conversation; returns the reply's ``message_id``.
        ``chat_id`` (when known) lets the reply share that chat's 5/s budget."""
        limits = self._send_limits("chat_id", chat_id) if chat_id else self._send_limits()
        data = self._api(
            "POST",
            f"/open-apis/im/v1/messages/{message_id}/reply",
            json={"msg_type": "text", "content": json.dumps({"text": text}), "uuid": uuid},
            limits=limits,
        )
        return data["message_id"]

    # https://open.feishu.cn/document/server-docs/im-v1/message-card/patch
    def patch_message(self, message_id: str, card: dict) -> None:
        """Replace a sent card (it needs ``config.update_multi``; ``CardTooOld`` after 14 days)."""
        self._api(
            "PATCH",
            f"/open-apis/im/v1/messages/{message_id}",
            json={"content": json.dumps(card)},
            limits=[_message_limit(message_id)],
        )

    # https://open.feishu.cn/document/server-docs/im-v1/message-card/delay-update-message-card
    def update_card_delayed(self, token: str, card: dict, *, message_id: str = "") -> None:
        """Update a card with the ``c-...`` token of a card callback (valid 30 min, twice).

        Pass ``message_id`` when known so that the 5/s-per-message limit is shared with
        ``patch_message``; otherwise the token stands for the message."""
        self._secrets.add(token)
        self._api(
            "POST",
            "/open-apis/interactive/v1/card/update",
            json={"token": token, "card": card},
            limits=[_message_limit(message_id or "token:" + _digest(token))],
        )

    # --- Images ---------------------------------------------------------------------------

    # https://open.feishu.cn/document/server-docs/im-v1/image/create
    def upload_image(self, image: bytes, filename: str = "image") -> str:
        """Upload an image for messages and cards (multipart, ``image_type=message``); returns
        its ``image_key``. Feishu takes at most 10 MB of JPG, JPEG, PNG, WEBP, GIF, BMP, ICO,
        TIFF or HEIC."""
        data = self._api(
            "POST",
            "/open-apis/im/v1/images",
            data={"image_type": "message"},
            files={"image": (filename, image, "application/octet-stream")},
        )
        key = data.get("image_key")
        if not isinstance(key, str) or not key:
            raise errors.TransientError("Feishu's image answer has no image_key")
        return key

    # --- Chats ----------------------------------------------------------------------------

    # https://open.feishu.cn/document/server-docs/group/chat/list
    def list_chats(self) -> list[dict]:
        """Every chat the bot is in (all pages)."""
        chats: list[dict] = []
        page_token = ""
        seen_tokens: set[str] = set()
        while True:
            params = {"page_size": LIST_CHATS_PAGE_SIZE}
            if page_token:
                params["page_token"] = page_token
            data = self._api("GET", "/open-apis/im/v1/chats", params=params)
            chats.extend(data.get("items") or [])
            page_token = data.get("page_token") or ""
            if not data.get("has_more") or not page_token or page_token in seen_tokens:
                return chats
            seen_tokens.add(page_token)

    # https://open.feishu.cn/document/server-docs/group/chat/create
    def create_chat(
        self, name: str, description: str, user_open_ids: Sequence[str], uuid: str
    ) -> str:
        """Create a group with the bot and these users; returns its ``chat_id``. The same
        ``uuid`` creates at most one chat per 10 h. Users past the first 50 are added after."""
        first, rest = list(user_open_ids[:CHAT_MEMBERS_CHUNK]), user_open_ids[CHAT_MEMBERS_CHUNK:]
        data = self._api(
            "POST",
            "/open-apis/im/v1/chats",
            params={"user_id_type": "open_id", "uuid": uuid},
            json={"name": name, "description": description, "user_id_list": first},
        )
        chat_id = data["chat_id"]
        if rest:
            self.add_chat_members(chat_id, rest)
        return chat_id

    # https://open.feishu.cn/document/server-docs/group/chat-member/create
    def add_chat_members(self, chat_id: str, open_ids: Sequence[str]) -> list[str]:
        """Add users by open_id (50 per call); returns the ids Feishu could not add."""
        refused: list[str] = []
        for chunk in _chunks(open_ids, CHAT_MEMBERS_CHUNK):
            data = self._api(
                "POST",
                f"/open-apis/im/v1/chats/{chat_id}/members",
                # succeed_type=1: add whoever can be added and list the rest, rather than
                # failing the whole call on one unknown id (Feishu's default, 0).
                params={"member_id_type": "open_id", "succeed_type": 1},
                json={"id_list": chunk},
            )
            refused += data.get("invalid_id_list") or []
            refused += data.get("not_existed_id_list") or []
        return refused

    # https://open.feishu.cn/document/server-docs/im-v1/pin/create
    def pin_message(self, message_id: str) -> None:
        """Pin a message in its chat (the bot must be in it). Pinning a pinned message answers
        the existing pin, so a retry is harmless. Any of ``im:message``,
        ``im:message.pins:write_only`` or ``im:message:send_as_bot`` allows it."""
        self._api(
            "POST",
            "/open-apis/im/v1/pins",
            json={"message_id": message_id},
            limits=[*self._app_limits(), _message_limit(message_id)],
        )

    # --- Contacts -------------------------------------------------------------------------

    # https://open.feishu.cn/document/server-docs/contact-v3/user/batch_get_id
    def batch_get_ids(self, emails: Sequence[str] = (), mobiles: Sequence[str] = ()) -> list[dict]:
        """open_ids of users by email and/or mobile: ``[{user_id, email | mobile}, ...]``
        (``user_id`` is absent for unknown users). At most 50 of each per call."""
        email_chunks = _chunks(emails, BATCH_GET_ID_CHUNK)
        mobile_chunks = _chunks(mobiles, BATCH_GET_ID_CHUNK)
        users: list[dict] = []
        for i in range(max(len(email_chunks), len(mobile_chunks))):
            body: dict[str, list[str]] = {}
            if i < len(email_chunks):
                body["emails"] = email_chunks[i]
            if i < len(mobile_chunks):
                body["mobiles"] = mobile_chunks[i]
            data = self._api(
                "POST",
                "/open-apis/contact/v3/users/batch_get_id",
                params={"user_id_type": "open_id"},
                json=body,
            )
            users.extend(data.get("user_list") or [])
        return users

    # --- OAuth (linking a Feishu user to a console account) ---------------------------------

    # https://open.feishu.cn/document/authentication-management/access-token/obtain-oauth-code
    def authorize_url(
        self, redirect_uri: str, state: str, code_challenge: str | None = None
    ) -> str:
        """Where to send the browser to ask the user's consent (PKCE S256 when a challenge)."""
        query = {
            "response_type": "code",
            "client_id": self.credentials.app_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if code_challenge:
            query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.credentials.accounts_base}/open-apis/authen/v1/authorize?{urlencode(query)}"

    # https://open.feishu.cn/document/authentication-management/access-token/get-user-access-token
    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> dict:
        """Trade an authorization code for a user token: the answer's top level holds
        ``access_token`` and ``expires_in`` (and ``refresh_token`` with ``offline_access``)."""
        self._secrets.update(filter(None, (code, code_verifier)))
        body = {
            "grant_type": "authorization_code",
            "client_id": self.credentials.app_id,
            "client_secret": self.credentials.app_secret,
            "code": code,
            "redirect_uri": redirect_uri,
        }
        if code_verifier:
            body["code_verifier"] = code_verifier
        payload = self._call(
            "POST", "/open-apis/authen/v2/oauth/token", json=body, limits=self._app_limits()
        )
        if "access_token" in payload:
            self._secrets.add(str(payload["access_token"]))
        return payload

    # https://open.feishu.cn/document/server-docs/authentication-management/login-state-management/get
    def user_info(self, user_access_token: str) -> dict:
        """The signed-in user: ``open_id``, ``union_id``, ``user_id``, ``name``, ``email``..."""
        self._secrets.add(user_access_token)
        payload = self._call(
            "GET",
            "/open-apis/authen/v1/user_info",
            headers={"Authorization": f"Bearer {user_access_token}"},
            limits=self._app_limits(),
        )
        return payload.get("data") or {}

    # --- Plumbing -------------------------------------------------------------------------

    def _app_limits(self) -> list[Limit]:
        return app_limits(self.credentials.app_id)

    def _api(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: dict | None = None,
        limits: list[Limit] | None = None,
        data: dict | None = None,
        files: dict | None = None,
    ) -> dict:
        """A call with the tenant token; returns ``data``. A rejected token is refreshed and
        the call retried once; a second rejection is raised as ``TokenInvalid``."""
        limits = self._app_limits() if limits is None else limits
        for attempt in (1, 2):
            token = self.tenant_access_token()
            try:
                payload = self._call(
                    method,
                    path,
                    params=params,
                    json=json,
                    headers={"Authorization": f"Bearer {token}"},
                    limits=limits,
                    data=data,
                    files=files,
                )
            except errors.TokenInvalid:
                if attempt == 2:
                    raise
                logger.info("Feishu %s %s: tenant token rejected, fetching a new one", method, path)
                self.forget_token()
                continue
            return payload.get("data") or {}
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: dict | None = None,
        headers: dict | None = None,
        limits: Iterable[Limit] = (),
        data: dict | None = None,
        files: dict | None = None,
    ) -> dict:
        """One HTTP exchange: wait for the rate limits (the call's own and the app's 50/s,
        which covers every Open API call), count it, send, parse, map errors."""
        if self.limiter is not None:
            every = list(dict.fromkeys([*limits, *self._app_limits()]))
            wait_for(
                self.limiter,
                every,
                sleep=self._sleep,
                max_wait=self._max_wait,
                too_long=errors.RateLimited,
            )
        if self.meter is not None:
            self.meter.count_call()
        url = self.credentials.open_api_base + path
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                files=files,
                headers=headers,
                timeout=self.timeout,
            )
        except outbound.OutboundRefused as exc:
            logger.warning("Feishu %s %s refused by the outbound guard: %s", method, path, exc)
            raise errors.DestinationRefused(str(exc)) from None
        except requests.RequestException as exc:
            logger.warning("Feishu %s %s failed: %s", method, path, type(exc).__name__)
            raise errors.TransientError(
                f"{method} {path} did not get an answer ({type(exc).__name__})"
            ) from exc
        try:
            payload = response.json()
        except ValueError:
            payload = None
        code = payload.get("code") if isinstance(payload, dict) else None
        if (isinstance(payload, dict) and code == 0) or _is_oauth_success(payload):
            logger.debug("Feishu %s %s: code 0", method, path)
            return payload
        logger.warning(
            "Feishu %s %s failed: code %s, HTTP %s", method, path, code, response.status_code
        )
        error = errors.from_response(
            response.status_code, payload, response.headers, secrets=self._secrets
        )
        if isinstance(error, errors.QuotaExhausted) and self.meter is not None:
            error = self.meter.quota_refused(error)
        raise error


def _is_oauth_success(payload: object) -> bool:
    """The v2 OAuth token answer may come without ``code``: a token and no error is success."""
    return (
        isinstance(payload, dict)
        and "code" not in payload
        and "error" not in payload
        and bool(payload.get("access_token"))
    )


def send_limits(app_id: str, receive_id_type: str = "", receive_id: str = "") -> list[Limit]:
    """The limits of one message send besides the app's 50/s (which ``_call`` adds to every
    call): the app's 1000 sends a minute and, with a receiver, its 5/s."""
    limits = [Limit(f"feishu:{app_id}:send", 1000, 60, EDGE_GUARD_MS)]
    if receive_id:
        # 5/s per receiver; a group's budget is shared by all bots in it: no app id.
        receiver = f"feishu:receiver:{receive_id_type}:{receive_id}"
        limits.append(Limit(receiver, 5, 1, EDGE_GUARD_MS))
    return limits


def app_limits(app_id: str) -> list[Limit]:
    """Feishu's 50 calls/s per app, for every Open API call (the guide's table: "所有接口",
    "每个应用最高频率 50 次/秒"): sends, card updates, tokens, chats, contacts, OAuth."""
    return [Limit(f"feishu:{app_id}:api", 50, 1, EDGE_GUARD_MS)]


def _message_limit(message_id: str) -> Limit:
    return Limit(f"feishu:message:{message_id}", 5, 1, EDGE_GUARD_MS)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    items = list(items)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
