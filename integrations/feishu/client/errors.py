"""Typed errors for the Feishu / Lark Open API, mapped from Feishu's own ``code``.

Callers branch on the class (or on ``permanent``): a task retries ``TransientError`` and
``RateLimited`` (after ``retry_after`` seconds), records a ``PermanentError`` against the chat,
user or message it concerns, and shows an ``AuthError`` to the admin who configured the app.

Feishu answers business errors as HTTP 400 with a non-zero ``code``, so the mapping looks at the
code first and at the HTTP status only when the code says nothing (see /work/shared/FEISHU.md).
No message built here contains the app secret or a token: ``from_response`` redacts the values it
is given, and the client never puts request headers or bodies into a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

REDACTED = "[redacted]"
DEFAULT_RETRY_AFTER = 1.0


class FeishuError(Exception):
    """Base class: Feishu's ``code`` (None when there was no usable answer) and ``msg``."""

    permanent: bool = False

    def __init__(self, msg: str, *, code: int | None = None, http_status: int | None = None):
        self.code = code
        self.msg = msg
        self.http_status = http_status
        super().__init__(self._describe())

    def _describe(self) -> str:
        if self.code is None:
            return self.msg
        return f"Feishu code {self.code}: {self.msg}"


class AuthError(FeishuError):
    """The App ID / App Secret were refused when fetching a tenant token: an admin must fix them."""

    permanent = True

    def __init__(
        self,
        msg: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        app_id: str = "",
    ):
        self.app_id = app_id
        super().__init__(msg, code=code, http_status=http_status)

    def _describe(self) -> str:
        return _(
            "Feishu refused the App ID / App Secret of app %(app_id)s (Feishu code %(code)s: "
            "%(msg)s). Check both values in the integration settings (凭证与基础信息, "
            "Credentials & Basic Info), and that the app belongs to this platform (Feishu or Lark)."
        ) % {"app_id": self.app_id or _("(unknown)"), "code": self.code, "msg": self.msg}


class TokenInvalid(FeishuError):
    """The tenant token was rejected; the client refreshes it and retries a call once."""


class RateLimited(FeishuError):
    """Too many calls: try again after ``retry_after`` seconds."""

    def __init__(
        self,
        msg: str,
        *,
        retry_after: float = DEFAULT_RETRY_AFTER,
        code: int | None = None,
        http_status: int | None = None,
    ):
        self.retry_after = retry_after
        super().__init__(msg, code=code, http_status=http_status)

    def _describe(self) -> str:
        return _("%(error)s (retry after %(seconds)s s)") % {
            "error": super()._describe(),
            "seconds": f"{self.retry_after:g}",
        }


class TransientError(FeishuError):
    """Network error, timeout, HTTP 5xx or an answer that is not JSON: worth retrying later."""


class PermanentError(FeishuError):
    """Feishu refused the call for a reason that retrying will not change."""

    permanent = True


class DestinationRefused(PermanentError):
    """The console's SSRF guard (``oncall.outbound``) refused the app's host: an inward address,
    plain http, or a redirect. Nothing was sent there; an admin must fix the API base URL."""


class BotNotInChat(PermanentError):
    """230002: the bot is not a member of the chat."""


class UserOutsideAvailability(PermanentError):
    """230013: the user is outside the app's availability range."""


class ChatDisbanded(PermanentError):
    """232009: the chat was disbanded."""


class CardTooOld(PermanentError):
    """230031: a card older than 14 days can no longer be updated."""


class QuotaExhausted(PermanentError):
    """99991403: the tenant's Open API calls for this month are spent (the free edition allows
    10,000 a month). Nothing goes through until the quota refreshes on the 1st or the tenant
    changes its Feishu edition. ``explanation`` (``integrations.feishu.budget`` writes it, with
    the app's plan) replaces Feishu's terse message for the people who read it."""

    def __init__(
        self,
        msg: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        explanation: str = "",
    ):
        self.explanation = explanation
        super().__init__(msg, code=code, http_status=http_status)

    def _describe(self) -> str:
        return self.explanation or super()._describe()


# Feishu's documented codes for a tenant token that is missing, malformed, expired or not valid
# (https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code):
# 99991661 missing, 99991663 invalid or expired, 99991664 invalid app access token, 99991665
# invalid tenant access token, 99991671 not a t-/u- token, 99991677 expired; 99991666 and
# 99991668 are answered to a rejected token too (the official lark-oapi SDK refreshes on them).
# Each is answered by fetching a new token and retrying the call once.
TOKEN_INVALID_CODES = frozenset(
    {99991661, 99991663, 99991664, 99991665, 99991666, 99991668, 99991671, 99991677}
)
QUOTA_EXHAUSTED_CODE = 99991403
RATE_LIMIT_CODES = frozenset({99991400, 230020})
PERMANENT_CODES: dict[int, type[PermanentError]] = {
    230002: BotNotInChat,
    230013: UserOutsideAvailability,
    232009: ChatDisbanded,
    230031: CardTooOld,
}
RETRY_AFTER_HEADER = "x-ogw-ratelimit-reset"
# "The app lacks the permission (scope) this API needs".
MISSING_SCOPE_CODES = frozenset({99991672, 99991679})
# The App ID belongs to the other platform (a Lark app on Feishu's host, or the reverse).
WRONG_PLATFORM_CODE = 1000040351
# The create-chat page's (https://open.feishu.cn/document/server-docs/group/chat/create).
BOT_NOT_ENABLED_CODE = 232025
APP_UNAVAILABLE_CODE = 232034
# Refusals that say what an admin must change, whatever the call: said in these words.
EXPLAINED_CODES = {
    WRONG_PLATFORM_CODE: gettext_lazy(
        "The App ID belongs to the other platform: choose Feishu or Lark to match."
    ),
    BOT_NOT_ENABLED_CODE: gettext_lazy(
        "The Feishu app's bot is not enabled: enable the Bot feature of the app in the Feishu "
        "developer console and publish a new version."
    ),
    APP_UNAVAILABLE_CODE: gettext_lazy(
        "The Feishu app is unavailable or disabled in its tenant: a Feishu administrator must "
        "enable it."
    ),
}


def explain(exc: FeishuError, *, doing: str, scopes: str, nothing_done: str = "") -> str:
    """A failed call in words an admin can act on, in the active language, for the admin's,
    the API's and the timeline's messages: ``doing`` is what was tried ("listing the bot's
    chats", translated by the caller), ``scopes`` the permissions it needs, ``nothing_done``
    what did not happen because of it ("Nothing was linked."). The one table of Feishu's
    codes in words (``EXPLAINED_CODES``, the scopes', the typed errors'). No secrets: the
    client redacts them from ``exc``."""
    return f"{_explained(exc, doing, scopes)}{f' {nothing_done}' if nothing_done else ''}"


def _explained(exc: FeishuError, doing: str, scopes: str) -> str:
    if isinstance(exc, (AuthError, DestinationRefused, QuotaExhausted)):
        return str(exc)
    if isinstance(exc, RateLimited):
        return _("Feishu is rate limiting this app. Try again in %(seconds)s s.") % {
            "seconds": f"{exc.retry_after:g}"
        }
    if isinstance(exc, TransientError):
        return _("Feishu could not be reached or failed: %(error)s. Try again later.") % {
            "error": exc
        }
    if exc.code in MISSING_SCOPE_CODES:
        return _(
            "The Feishu app lacks a permission for %(doing)s: request %(scopes)s under "
            "Permissions in the Feishu developer console and publish a new version."
        ) % {"doing": doing, "scopes": scopes}
    if exc.code in EXPLAINED_CODES:
        return str(EXPLAINED_CODES[exc.code])
    return _("Feishu refused %(doing)s (%(error)s).") % {"doing": doing, "error": exc}


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def retry_after_from(headers: Mapping[str, str] | None) -> float:
    """Seconds from ``x-ogw-ratelimit-reset``; 1 s when the header is absent or unreadable."""
    raw = (headers or {}).get(RETRY_AFTER_HEADER)
    try:
        value = float(raw) if raw is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return value if value >= 0 else DEFAULT_RETRY_AFTER


def from_response(
    http_status: int,
    payload: object,
    headers: Mapping[str, str] | None = None,
    *,
    secrets: Iterable[str | None] = (),
) -> FeishuError:
    """The error for a failed answer: ``payload`` is the parsed JSON (None if it was not JSON).

    ``headers`` must be case-insensitive (``requests``' headers are). ``secrets`` are values
    that must never reach a message (the app secret, tokens) and are redacted from Feishu's msg.
    """
    secrets = tuple(secrets)
    if not isinstance(payload, dict):
        if http_status == 429:
            return RateLimited(
                "rate limited (HTTP 429)",
                retry_after=retry_after_from(headers),
                http_status=http_status,
            )
        return TransientError(
            f"Feishu answered HTTP {http_status} with a body that is not a JSON object",
            http_status=http_status,
        )

    code = _int_or_none(payload.get("code"))
    # The OAuth v2 token endpoint answers errors with `error` / `error_description`.
    raw_msg = payload.get("msg") or payload.get("error_description") or payload.get("error") or ""
    msg = redact(str(raw_msg), secrets) or f"HTTP {http_status}"

    if code in TOKEN_INVALID_CODES:
        return TokenInvalid(msg, code=code, http_status=http_status)
    if code == QUOTA_EXHAUSTED_CODE:  # before the 429 check: Feishu may send it with HTTP 429
        return QuotaExhausted(msg, code=code, http_status=http_status)
    if code in RATE_LIMIT_CODES or http_status == 429:
        return RateLimited(
            msg, retry_after=retry_after_from(headers), code=code, http_status=http_status
        )
    if code in PERMANENT_CODES:
        return PERMANENT_CODES[code](msg, code=code, http_status=http_status)
    if http_status >= 500 or (code is None and http_status < 400):
        # A 5xx, or a 2xx/3xx without a code (a proxy's page, not Feishu's answer).
        return TransientError(msg, code=code, http_status=http_status)
    return PermanentError(msg, code=code, http_status=http_status)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
