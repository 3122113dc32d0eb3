"""The one seam between the console and the DingTalk Open API.

``DingTalkClient`` wraps one guarded ``requests.Session`` (``oncall.outbound``: an app's host
may be set by an admin, so every connection goes only to an address the SSRF rules allow, and
no redirect is followed). Every answer is parsed as JSON and judged by DingTalk's code, never by
the HTTP status alone; failures become the typed errors of ``integrations.dingtalk.client.errors``.

The app's access token is cached in the Django cache (one fetch per app for every process, not
one per process) until five minutes before DingTalk's ``expires_in``, and fetched anew when
DingTalk says it is invalid. Token calls do not count against the organisation's monthly quota
(DingTalk's 附录A lists the access-credential APIs among those not counted).

Logs carry the method, the path and DingTalk's code: never a token, a secret or a body.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import requests
from django.core.cache import cache

from integrations.dingtalk.client import errors
from oncall import outbound

logger = logging.getLogger(__name__)

# Fetch a new token this long before DingTalk's ``expires_in`` runs out (7200 s today).
TOKEN_EARLY_REFRESH_SECONDS = 300
GRANT_TYPE = "client_credentials"


@dataclass(frozen=True)
class AppCredentials:
    """One internal app of one organisation. ``api_base`` (``https://api.dingtalk.com``) serves
    the current API, ``oapi_base`` (``https://oapi.dingtalk.com``) the legacy one; no trailing
    slash."""

    corp_id: str
    client_id: str
    client_secret: str = field(repr=False)
    api_base: str
    oapi_base: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_base", self.api_base.rstrip("/"))
        object.__setattr__(self, "oapi_base", self.oapi_base.rstrip("/"))


@dataclass(frozen=True)
class StreamTicket:
    """Where a Stream mode connection opens, and the ticket that opens it once."""

    endpoint: str
    ticket: str = field(repr=False)


def token_cache_key(credentials: AppCredentials) -> str:
    """Cache key of an app's access token: a hash, so the secret never appears in the key."""
    material = "\0".join(
        (
            credentials.api_base,
            credentials.corp_id,
            credentials.client_id,
            credentials.client_secret,
        )
    )
    return "dingtalk:access-token:" + hashlib.sha256(material.encode()).hexdigest()


class Meter(Protocol):
    """The app's API budget (``integrations.dingtalk.budget``): ``count_call`` before each
    counted call (raises ``QuotaExhausted`` when the month is spent), ``pace`` to keep within
    the edition's calls a second (raises ``RateLimited`` when that would wait too long)."""

    def count_call(self) -> None: ...

    def pace(self) -> None: ...


@dataclass(frozen=True)
class SceneGroup:
    """A scene group DingTalk made: its ``openConversationId`` (what cards address) and its
    ``chatid`` (what DingTalk's applink opens)."""

    open_conversation_id: str
    chat_id: str


# The robot's interactive card without a template of the card builder: its JSON is the card
# (https://open.dingtalk.com/document/orgapp/robots-send-interactive-cards).
STANDARD_CARD = "StandardCard"


class DingTalkClient:
    """Typed calls to the Open API for one app. Not tied to a request: build one per task."""

    def __init__(
        self,
        credentials: AppCredentials,
        *,
        session: outbound.GuardedSession | None = None,
        timeout: float | tuple[float, float] = (3.05, 10),
        meter: Meter | None = None,
    ):
        self.credentials = credentials
        self.session = session or outbound.session()
        self.timeout = timeout
        self.meter = meter
        self._secrets: set[str] = {credentials.client_secret}

    # --- Interactive cards ----------------------------------------------------------------

    # https://open.dingtalk.com/document/orgapp/robots-send-interactive-cards
    def send_card(
        self,
        card_biz_id: str,
        card: dict,
        *,
        robot_code: str,
        callback_route_key: str,
        user_id: str = "",
        open_conversation_id: str = "",
    ) -> str:
        """Send ``card`` from the app's robot to one person (their ``userId``, a one-to-one
        chat) or one group (its ``openConversationId``, where the cool app is installed).
        ``card_biz_id`` is the card's own id (outTrackId): every later update names it, and
        DingTalk holds one card per id, so a send repeated with it does not post a second
        card. Returns DingTalk's ``processQueryKey``."""
        body: dict[str, Any] = {
            "cardTemplateId": STANDARD_CARD,
            "cardBizId": card_biz_id,
            "robotCode": robot_code,
            "callbackRouteKey": callback_route_key,
            "cardData": json.dumps(card, ensure_ascii=False),
            "pullStrategy": False,
        }
        if open_conversation_id:
            body["openConversationId"] = open_conversation_id
        else:
            body["singleChatReceiver"] = json.dumps({"userId": user_id})
        payload = self._with_token("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", body)
        key = payload.get("processQueryKey")
        return key if isinstance(key, str) else ""

    # https://open.dingtalk.com/document/orgapp/update-dingtalk-interactive-cards-1
    def update_card(self, card_biz_id: str, card: dict) -> None:
        """Replace the content of the card ``card_biz_id`` for everyone who sees it."""
        body = {"cardBizId": card_biz_id, "cardData": json.dumps(card, ensure_ascii=False)}
        self._with_token("PUT", "/v1.0/im/robots/interactiveCards", body)

    # https://open.dingtalk.com/document/orgapp/register-an-interaction-card-callback-address
    def register_card_callback(self, url: str, route_key: str) -> None:
        """Make DingTalk call ``url`` back with clicks on cards sent under ``route_key``
        (replacing what the key pointed at). A legacy API: the token is a query parameter."""
        body = {"callback_url": url, "callbackRouteKey": route_key, "forceUpdate": True}
        path = "/topapi/im/chat/scencegroup/interactivecard/callback/register"
        for attempt in range(2):
            params = {"access_token": self.access_token()}
            try:
                self._call("POST", path, json=body, params=params, base=self.credentials.oapi_base)
                return
            except errors.TokenInvalid:
                self.forget_token()
                if attempt:
                    raise

    # --- Scene groups (war rooms) ---------------------------------------------------------

    # https://open.dingtalk.com/document/orgapp/create-a-scene-group-v2
    def create_scene_group(
        self,
        *,
        template_id: str,
        title: str,
        owner_user_id: str,
        user_ids: list[str],
        uuid: str,
    ) -> SceneGroup:
        """Create a scene group (场景群) from the published group template ``template_id``,
        owned by ``owner_user_id``, with ``user_ids`` as members (the owner among them), and
        the template's group bot installed. DingTalk makes one group per ``uuid`` (its
        "建群去重的业务id"), so a retried call finds the group the first one made. A legacy
        API (``errcode``; the token is a query parameter), counted against the budget."""
        body = {
            "template_id": template_id,
            "title": title,
            "owner_user_id": owner_user_id,
            # A comma-separated text, as the page documents it (at most 999 ids).
            "user_ids": ",".join(dict.fromkeys([owner_user_id, *user_ids])),
            "uuid": uuid,
        }
        if self.meter is not None:
            self.meter.pace()
            self.meter.count_call()
        result = self._legacy("/topapi/im/chat/scenegroup/create", body).get("result")
        group = result if isinstance(result, dict) else {}
        conversation = group.get("open_conversation_id")
        if not isinstance(conversation, str) or not conversation:
            raise errors.TransientError("DingTalk's scene group answer has no open_conversation_id")
        chat_id = group.get("chat_id")
        return SceneGroup(conversation, chat_id if isinstance(chat_id, str) else "")

    # https://open.dingtalk.com/document/orgapp/add-a-member-to-a-scenario-group
    def add_scene_group_members(self, open_conversation_id: str, user_ids: list[str]) -> None:
        """Add ``user_ids`` to a scene group the app made (a legacy API, counted against the
        budget)."""
        body = {"open_conversation_id": open_conversation_id, "user_ids": ",".join(user_ids)}
        if self.meter is not None:
            self.meter.pace()
            self.meter.count_call()
        self._legacy("/topapi/im/chat/scenegroup/member/add", body)

    def _with_token(self, method: str, path: str, body: dict) -> dict[str, Any]:
        """A call with the app's token, counted against its budget; a rejected token is
        fetched again and the call made once more."""
        if self.meter is not None:
            self.meter.pace()
            self.meter.count_call()
        for attempt in range(2):
            headers = {"x-acs-dingtalk-access-token": self.access_token()}
            try:
                return self._call(method, path, json=body, headers=headers)
            except errors.TokenInvalid:
                self.forget_token()
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # --- Access token ---------------------------------------------------------------------

    # https://open.dingtalk.com/document/development/api-gettoken
    def access_token(self) -> str:
        """The app's access token, from the cache or fetched (and cached until 5 min before it
        expires). Raises ``AuthError`` when DingTalk refuses the CorpId, Client ID or Client
        Secret, with DingTalk's code (``invalid.client``, ``unauthorized.client``)."""
        key = token_cache_key(self.credentials)
        token = cache.get(key)
        if token:
            self._secrets.add(token)
            return token
        token, lifetime = self._fetch_token()
        self._secrets.add(token)
        if lifetime - TOKEN_EARLY_REFRESH_SECONDS > 0:
            cache.set(key, token, timeout=lifetime - TOKEN_EARLY_REFRESH_SECONDS)
        return token

    def forget_token(self) -> None:
        cache.delete(token_cache_key(self.credentials))

    def _fetch_token(self) -> tuple[str, int]:
        corp = quote(self.credentials.corp_id, safe="")
        body = {
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
            "grant_type": GRANT_TYPE,
        }
        try:
            payload = self._call("POST", f"/v1.0/oauth2/{corp}/token", json=body)
        except errors.PermanentError as exc:
            if type(exc) is not errors.PermanentError:
                raise  # already says what it is (credentials, allow list, host, ...)
            # A refusal DingTalk's table does not name is about the app's credentials or
            # organisation all the same: nothing else goes into a token request.
            raise errors.AuthError(exc.msg, code=exc.code, http_status=exc.http_status) from None
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise errors.TransientError("DingTalk's token answer has no access_token")
        return token, _int(payload.get("expires_in"))

    # --- One exchange ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        headers: dict | None = None,
        params: dict | None = None,
        base: str | None = None,
    ) -> dict[str, Any]:
        """One HTTP exchange with the current API (or ``base``): send, parse, map errors."""
        url = (base or self.credentials.api_base) + path
        try:
            response = self.session.request(
                method, url, json=json, headers=headers, params=params, timeout=self.timeout
            )
        except outbound.OutboundRefused as exc:
            logger.warning(
                "DingTalk %s %s refused by the outbound guard: %s", method, _path_only(path), exc
            )
            raise errors.DestinationRefused(str(exc)) from None
        except requests.RequestException as exc:
            logger.warning(
                "DingTalk %s %s failed: %s", method, _path_only(path), type(exc).__name__
            )
            raise errors.TransientError(
                f"{method} {_path_only(path)} did not get an answer ({type(exc).__name__})"
            ) from exc
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if _succeeded(response.status_code, payload):
            logger.debug("DingTalk %s %s: HTTP %s", method, _path_only(path), response.status_code)
            return payload  # type: ignore[return-value]
        error = errors.from_response(response.status_code, payload, secrets=self._secrets)
        logger.warning(
            "DingTalk %s %s failed: code %s, HTTP %s",
            method,
            _path_only(path),
            error.code,
            response.status_code,
        )
        raise error

    # --- Sign-in (a person's own token) and the contacts it leads to ----------------------

    # https://open.dingtalk.com/document/orgapp/tutorial-obtaining-user-personal-information
    def authorize_url(self, login_base: str, redirect_uri: str, state: str) -> str:
        """DingTalk's consent page (``login.dingtalk.com/oauth2/auth``) for this app.
        ``prompt=consent`` is the value DingTalk's guide requires; ``scope=openid`` asks for
        who the person is (the unionId), nothing of the organisation's data."""
        query = urlencode(
            {
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "client_id": self.credentials.client_id,
                "scope": "openid",
                "state": state,
                "prompt": "consent",
            }
        )
        return f"{login_base.rstrip('/')}/oauth2/auth?{query}"

    # https://open.dingtalk.com/document/orgapp/obtain-user-token
    def user_access_token(self, code: str) -> str:
        """Trade a sign-in's authorization code (once) for the person's own access token."""
        body = {
            "clientId": self.credentials.client_id,
            "clientSecret": self.credentials.client_secret,
            "code": code,
            "grantType": "authorization_code",
        }
        payload = self._call("POST", "/v1.0/oauth2/userAccessToken", json=body)
        token = payload.get("accessToken")
        if not isinstance(token, str) or not token:
            raise errors.TransientError("DingTalk's user token answer has no accessToken")
        self._secrets.add(token)
        return token

    # https://open.dingtalk.com/document/orgapp/dingtalk-retrieve-user-information
    def current_user(self, user_token: str) -> dict[str, Any]:
        """Who signed in (``nick``, ``unionId``, ``openId``, ``email``, ``avatarUrl``, ...),
        asked with their own token; ``mobile`` and ``email`` only with the matching scopes."""
        headers = {"x-acs-dingtalk-access-token": user_token}
        return self._call("GET", "/v1.0/contact/users/me", headers=headers)

    # https://open.dingtalk.com/document/orgapp/query-a-user-by-the-union-id
    def userid_by_unionid(self, union_id: str) -> str:
        """The organisation's userid of a person known by unionId. Raises ``PermanentError``
        (DingTalk's 60121 "not found") for someone outside the organisation."""
        return self._legacy_userid("/topapi/user/getbyunionid", {"unionid": union_id})

    # https://open.dingtalk.com/document/orgapp/query-users-by-phone-number
    def userid_by_mobile(self, mobile: str) -> str:
        """The userid of the organisation's member with this mobile number (needs the
        ``qyapi_get_member_by_mobile`` permission)."""
        return self._legacy_userid("/topapi/v2/user/getbymobile", {"mobile": mobile})

    # https://open.dingtalk.com/document/orgapp/query-user-details
    def user_detail(self, user_id: str) -> dict[str, Any]:
        """A member's details (``userid``, ``unionid``, ``name``, ``email``, ``avatar``...)."""
        payload = self._legacy("/topapi/v2/user/get", {"userid": user_id, "language": "en_US"})
        result = payload.get("result")
        if not isinstance(result, dict):
            raise errors.TransientError("DingTalk's user answer has no result")
        return result

    def _legacy_userid(self, path: str, body: dict[str, str]) -> str:
        result = self._legacy(path, body).get("result")
        user_id = result.get("userid") if isinstance(result, dict) else None
        if not isinstance(user_id, str) or not user_id:
            raise errors.PermanentError("DingTalk's answer names no userid", code="60121")
        return user_id

    def _legacy(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        """One call to the legacy API, with the app's token in the query as it wants it; a
        rejected token is fetched again and the call made once more."""
        for attempt in range(2):
            token = quote(self.access_token(), safe="")
            try:
                return self._call(
                    "POST",
                    f"{path}?access_token={token}",
                    json=body,
                    base=self.credentials.oapi_base,
                )
            except errors.TokenInvalid:
                self.forget_token()
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # --- Stream mode -----------------------------------------------------------------------

    # https://open.dingtalk.com/document/direction/stream-mode-protocol-access-description
    def open_stream_connection(self, subscriptions: list[dict[str, str]], ua: str) -> StreamTicket:
        """Ask for a Stream mode connection: the WebSocket endpoint and the one-use ticket to
        open it with. ``subscriptions`` are ``{"type": "EVENT" | "CALLBACK", "topic"}``."""
        body = {
            "clientId": self.credentials.client_id,
            "clientSecret": self.credentials.client_secret,
            "subscriptions": subscriptions,
            "ua": ua,
        }
        payload = self._call("POST", "/v1.0/gateway/connections/open", json=body)
        endpoint, ticket = payload.get("endpoint"), payload.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not ticket:
            raise errors.TransientError("DingTalk's connection answer has no endpoint or ticket")
        self._secrets.add(ticket)
        return StreamTicket(endpoint, ticket)


def _succeeded(http_status: int, payload: object) -> bool:
    """The current API says success with a 2xx and no ``code``; the legacy one with errcode 0."""
    if not isinstance(payload, dict) or not 200 <= http_status < 300:
        return False
    if "errcode" in payload:
        return payload["errcode"] == 0
    return "code" not in payload


def _path_only(path: str) -> str:
    # The legacy API's query holds the access token: never logged.
    path = path.partition("?")[0]
    # The token path holds the CorpId: not a secret, but the log needs no organisation ids.
    corp_token = path.startswith("/v1.0/oauth2/") and path.endswith("/token")
    return "/v1.0/oauth2/<corpId>/token" if corp_token else path


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
