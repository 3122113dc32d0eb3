"""Typed errors for the DingTalk Open API, mapped from DingTalk's own codes, and those codes in
plain words for the admins who must act on them.

DingTalk answers in two styles. The current API (``api.dingtalk.com/v1.0/...``) fails with an
HTTP 4xx/5xx and ``{"code": "<string>", "message": ..., "requestid": ...}``; the legacy API
(``oapi.dingtalk.com``) answers HTTP 200 with ``{"errcode": <int>, "errmsg": ...}``. Both kinds
of code are keys of one table here, as strings ("invalid.client", "90018").

Callers branch on the class (or on ``permanent``): a task retries ``TransientError`` and
``RateLimited`` (after ``retry_after`` seconds), refetches the token on ``TokenInvalid``, and
shows an ``AuthError``, ``PermissionDenied`` or ``IpNotAllowed`` to the admin who configured
the app. No message built here holds the Client Secret or a token: ``from_response`` redacts the
values it is given, and the client never puts request headers or bodies into a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

REDACTED = "[redacted]"
# DingTalk's QPS limits are per second: "sleep 1 s, then go on" is its own advice (附录B).
DEFAULT_RETRY_AFTER = 1.0


class DingTalkError(Exception):
    """Base class: DingTalk's ``code`` as a string (None when there was no usable answer)."""

    permanent: bool = False

    def __init__(self, msg: str, *, code: str | None = None, http_status: int | None = None):
        self.code = code
        self.msg = msg
        self.http_status = http_status
        super().__init__(self._describe())

    def _describe(self) -> str:
        if self.code is None:
            return self.msg
        return f"DingTalk code {self.code}: {self.msg}"


class TransientError(DingTalkError):
    """Network error, timeout, HTTP 5xx or an answer that is not JSON: worth retrying later."""


class PermanentError(DingTalkError):
    """DingTalk refused the call for a reason that retrying will not change."""

    permanent = True


class AuthError(PermanentError):
    """The CorpId, Client ID or Client Secret were refused when fetching a token."""


class TokenInvalid(DingTalkError):
    """The access token was rejected; the client fetches a new one and retries a call once."""


class RateLimited(DingTalkError):
    """Too many calls a second (the app's, or everyone's on that API): try again later."""

    def __init__(
        self,
        msg: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        retry_after: float = DEFAULT_RETRY_AFTER,
    ):
        self.retry_after = retry_after
        super().__init__(msg, code=code, http_status=http_status)


class QuotaExhausted(PermanentError):
    """The organisation's API calls for this month are spent (standard edition: 10,000)."""


class PermissionDenied(PermanentError):
    """The app lacks a permission (scope) the API needs; ``scopes`` names them when DingTalk
    did (``accessdenieddetail.requiredScopes``)."""

    def __init__(
        self,
        msg: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        scopes: tuple[str, ...] = (),
    ):
        self.scopes = scopes
        super().__init__(msg, code=code, http_status=http_status)


class IpNotAllowed(PermanentError):
    """The console's outgoing address is not in the app's server IP allow list."""


class DestinationRefused(PermanentError):
    """The console's SSRF guard (``oncall.outbound``) refused the app's host: nothing was sent;
    an admin must fix the API base URL."""


@dataclass(frozen=True)
class Meaning:
    """What a DingTalk code means and what to do, in words for admins; ``kind`` is the error
    class a call that got it raises."""

    kind: type[DingTalkError]
    means: str | Promise
    fix: str | Promise = ""


_CREDENTIALS = Meaning(
    AuthError,
    _("DingTalk does not know this Client ID, or the Client Secret does not belong to it."),
    _(
        "Copy both again from the app's Credentials & Basic Info page (凭证与基础信息) in the "
        "DingTalk developer console."
    ),
)
_TOKEN = Meaning(
    TokenInvalid,
    _("DingTalk refused the access token (unknown or expired)."),
    _("The console fetches a new one by itself; if this persists, check configuration."),
)
_PERMISSION = Meaning(
    PermissionDenied,
    _("The app lacks a permission this call needs."),
    _(
        "Request it on the app's Permissions page (权限管理) in the DingTalk developer console, "
        "then publish a new version."
    ),
)
_IP = Meaning(
    IpNotAllowed,
    _("The console's outgoing IP address is not in the app's server IP allow list."),
    _(
        "Add the console's outgoing address under Security Settings (安全设置) → server "
        "outgoing IPs in the DingTalk developer console, or empty the list."
    ),
)
_APP_QPS = Meaning(
    RateLimited,
    _("The app made more calls a second to this API than its edition allows."),
    _("The console waits and tries again; nothing to change unless it keeps happening."),
)
_GLOBAL_QPS = Meaning(
    RateLimited,
    _("DingTalk is limiting everyone's calls to this API for a moment."),
    _("The console waits and tries again."),
)
_QUOTA = Meaning(
    QuotaExhausted,
    _("The organisation's DingTalk API calls for this month are spent."),
    _(
        "Calls resume on the 1st of next month, or once the organisation moves to the "
        "professional or exclusive edition (check the edition in the app's settings here)."
    ),
)

# DingTalk's codes, current API (strings) and legacy API (numbers, as strings). Sources:
# https://open.dingtalk.com/document/development/api-gettoken (the token's error table),
# https://open.dingtalk.com/document/development/how-to-process-api-throttling-on-the-dingtalk-server
# (附录B: 90018 / 90002 / 90020 and their Forbidden.AccessDenied.* twins),
# https://open.dingtalk.com/document/orgapp/obtain-the-access_token-of-an-internal-app
# (invalidClientIdOrSecret), and the global error code page (InvalidAuthentication 401,
# Forbidden.AccessDenied.AccessTokenPermissionDenied / IpNotInWhiteList 403; 40014 不合法的
# access_token, 42001 access_token 超时, 60020 访问 ip 不在白名单之中).
CODES: dict[str, Meaning] = {
    "invalid.client": _CREDENTIALS,
    "invalidClientIdOrSecret": _CREDENTIALS,
    "unauthorized.client": Meaning(
        AuthError,
        _("The app is not authorised in the organisation of this CorpId."),
        _(
            "Check the CorpId (the menu under the organisation's avatar in the DingTalk "
            "developer console): it must be the organisation that owns the app."
        ),
    ),
    "unsupported.grant.type": Meaning(
        PermanentError,
        _("DingTalk refused the kind of token the console asked for."),
        _("This is the console's fault: please report it."),
    ),
    "server.error": Meaning(TransientError, _("DingTalk failed unexpectedly."), _("Try again.")),
    "InvalidAuthentication": _TOKEN,
    "40014": _TOKEN,
    "42001": _TOKEN,
    "Forbidden.AccessDenied.AccessTokenPermissionDenied": _PERMISSION,
    "Forbidden.AccessDenied.IpNotInWhiteList": _IP,
    "60020": _IP,
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi": _APP_QPS,
    "90018": _APP_QPS,
    "Forbidden.AccessDenied.QpsLimitForApi": _GLOBAL_QPS,
    "90002": _GLOBAL_QPS,
    "Forbidden.AccessDenied.ApiCountLimitForOrg": _QUOTA,
    "90020": _QUOTA,
    # Scene groups (war rooms): https://open.dingtalk.com/document/orgapp/enable-a-group-template
    # (665036 群模板不存在或停用) and the contacts pages (60121 找不到该用户).
    "665036": Meaning(
        PermanentError,
        _("DingTalk has no published group template with this Template ID, or it is disabled."),
        _(
            "Copy the Template ID again from the published template's page (Open Capability "
            "→ Scene Group → Group Template, 开放能力 → 场景群 → 群模板) into the app here, "
            "and check that the template is published with the app chosen."
        ),
    ),
    "60121": Meaning(
        PermanentError,
        _("DingTalk has no member of the organisation with this userid or mobile number."),
        _("Check the person's linked DingTalk account (its userid or mobile number)."),
    ),
}


def explain(exc: DingTalkError, *, doing: str | Promise) -> str:
    """A failed call in words an admin can act on: what ``doing`` met, what DingTalk's code
    means and what to change. No secrets: the client redacts them from ``exc``."""
    if isinstance(exc, DestinationRefused):
        return gettext("The console refused to call this app's host: %(reason)s") % {
            "reason": exc.msg
        }
    meaning = CODES.get(exc.code or "")
    if meaning is not None:
        words = gettext("DingTalk refused %(doing)s (%(code)s): %(means)s %(fix)s") % {
            "doing": doing,
            "code": exc.code,
            "means": meaning.means,
            "fix": meaning.fix,
        }
        if isinstance(exc, PermissionDenied) and exc.scopes:
            words += " " + gettext("Permissions it asked for: %(scopes)s.") % {
                "scopes": ", ".join(exc.scopes)
            }
        return words.strip()
    if isinstance(exc, TransientError):
        return gettext(
            "DingTalk could not be reached or failed while %(doing)s: %(error)s. Try again later."
        ) % {"doing": doing, "error": exc}
    return gettext("DingTalk refused %(doing)s: %(error)s.") % {"doing": doing, "error": exc}


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def from_response(
    http_status: int,
    payload: object,
    *,
    secrets: Iterable[str | None] = (),
) -> DingTalkError:
    """The error for a failed answer: ``payload`` is the parsed JSON (None if it was not JSON).
    ``secrets`` are values that must never reach a message (the Client Secret, tokens)."""
    if not isinstance(payload, Mapping):
        if http_status == 429:
            return RateLimited("rate limited (HTTP 429)", http_status=http_status)
        return TransientError(
            f"DingTalk answered HTTP {http_status} with a body that is not a JSON object",
            http_status=http_status,
        )
    code = _code_of(payload)
    raw_msg = payload.get("message") or payload.get("errmsg") or payload.get("error") or ""
    msg = redact(str(raw_msg), tuple(secrets)) or f"HTTP {http_status}"
    meaning = CODES.get(code or "")
    if meaning is not None:
        if meaning.kind is PermissionDenied:
            return PermissionDenied(
                msg, code=code, http_status=http_status, scopes=_required_scopes(payload)
            )
        return meaning.kind(msg, code=code, http_status=http_status)
    if http_status == 429:
        return RateLimited(msg, code=code, http_status=http_status)
    if http_status >= 500 or (code is None and http_status < 400):
        # A 5xx, or a 2xx/3xx without a code (a proxy's page, not DingTalk's answer).
        return TransientError(msg, code=code, http_status=http_status)
    return PermanentError(msg, code=code, http_status=http_status)


def _code_of(payload: Mapping) -> str | None:
    """The current API's ``code`` (a string), the legacy ``errcode`` (a number; 0 is success),
    or an OAuth-style ``error``."""
    for key in ("code", "errcode", "error"):
        value = payload.get(key)
        if isinstance(value, bool) or value is None or value == "":
            continue
        if isinstance(value, int | str):
            return str(value)
    return None


def _required_scopes(payload: Mapping) -> tuple[str, ...]:
    detail = payload.get("accessdenieddetail")
    scopes = detail.get("requiredScopes") if isinstance(detail, Mapping) else None
    if not isinstance(scopes, list):
        return ()
    return tuple(s for s in scopes if isinstance(s, str))
