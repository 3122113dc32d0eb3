"""Plumbing shared by the sandbox's Open API endpoints: what every answer goes through.

``open_api`` wraps an endpoint the way Feishu's gateway wraps its services, in this order:
injected faults (``Fault`` rows) answer first; then the ``Authorization`` header is checked;
then the per-app, per-API rate limit (1000/min and 50/s, Feishu's tier 4); then the endpoint
runs. Whatever the outcome, one ``ApiCall`` row records it. Endpoints raise ``ApiError`` with
Feishu's code; business errors are HTTP 400 with a non-zero ``code``, as on Feishu.

Rate limits are sliding windows (``sliding_window``), as a server counts: the console's own
client-side limiter uses windows aligned to the clock, which would let twice a limit through
at a window's edge unnoticed. Keys start with ``sandbox:``, so that they never share counters
with the console's limiter, which counts the same calls from the other end.

Unknown paths under ``/open-apis/`` get Feishu's JSON (``not_found``), never an HTML page: a
client reads ``code`` and ``msg`` from every answer.

Facts: https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control (429,
``x-ogw-ratelimit-reset``, limits per API, per app, per tenant) and /work/shared/FEISHU.md.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, JsonResponse, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integrations.chatkit.ratelimit import Limit
from integrations.feishu.client.errors import RETRY_AFTER_HEADER
from integrations.feishu_sandbox.limits import API_PER_MINUTE, API_PER_SECOND, RATE_LIMITED
from integrations.feishu_sandbox.models import (
    AccessToken,
    ApiCall,
    Fault,
    SandboxApp,
    SandboxChat,
    SandboxUser,
    secret_hash,
)
from integrations.feishu_sandbox.sliding_window import sandbox_limiter

OPEN_APIS = "/open-apis/"
TOKEN_LIFETIME = timedelta(seconds=7200)

# Gateway codes (https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code).
TOKEN_MISSING = 99991661
TOKEN_INVALID = 99991663
TOKEN_BAD_FORMAT = 99991671
FIELD_VALIDATION_FAILED = 99992402
# The chat APIs' code, which the message APIs answer too.
CHAT_DISBANDED = 232009
BAD_REQUEST = 9499
RATE_LIMIT_MSG = "request trigger frequency limit"
LIMIT_HEADER = "x-ogw-ratelimit-limit"


class ApiError(Exception):
    """An answer other than success: Feishu's ``code`` and ``msg`` with an HTTP status."""

    def __init__(
        self,
        code: int,
        msg: str,
        *,
        status: int = 400,
        headers: dict[str, str] | None = None,
        payload: dict[str, Any] | None = None,
    ):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}
        # Replaces the default {"code", "msg"} body (the OAuth v2 endpoint answers in its style).
        self.payload = payload

    def body(self) -> dict[str, Any]:
        return self.payload if self.payload is not None else {"code": self.code, "msg": self.msg}


def invalid_field(msg: str) -> ApiError:
    """The gateway's schema check: a required field is missing or breaks a documented rule."""
    return ApiError(FIELD_VALIDATION_FAILED, f"field validation failed: {msg}")


@dataclass
class Call:
    """One request as an endpoint sees it, after the gateway's checks."""

    request: HttpRequest
    body: dict[str, Any]
    app: SandboxApp | None = None
    user: SandboxUser | None = None
    # Recorded on the ApiCall row; endpoints that authenticate themselves (token) set it.
    app_id: str = ""

    @property
    def params(self) -> QueryDict:
        return self.request.GET

    @property
    def tenant_app(self) -> SandboxApp:
        """The app of a tenant-token call (``open_api`` guarantees it for auth="tenant")."""
        if self.app is None:  # pragma: no cover - guarded by the decorator
            raise ApiError(TOKEN_MISSING, "missing access token")
        return self.app


Endpoint = Callable[..., dict[str, Any]]
Auth = Literal["tenant", "user", "none"]


def success(data: dict[str, Any] | None = None, *, msg: str = "success") -> dict[str, Any]:
    return {"code": 0, "msg": msg, "data": data if data is not None else {}}


def open_api(
    name: str | dict[str, str], *, methods: Iterable[str], auth: Auth = "tenant"
) -> Callable:
    """Make ``view(call, **path_args) -> payload`` an Open API endpoint called ``name`` (the
    rate-limit key of that API; a dict names the API of each method when one path serves
    several). ``auth="none"`` endpoints check credentials themselves."""
    allowed = frozenset(m.upper() for m in methods)

    def decorate(view: Endpoint) -> Callable[..., JsonResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def endpoint(request: HttpRequest, **kwargs: Any) -> JsonResponse:
            call = Call(request=request, body={})
            try:
                payload = _answer(call, view, name, allowed, auth, kwargs)
                response, code = JsonResponse(payload), payload.get("code", 0)
            except ApiError as error:
                response, code = JsonResponse(error.body(), status=error.status), error.code
                for header, value in error.headers.items():
                    response[header] = value
            record_call(request, call.app_id, response.status_code, code)
            return response

        return endpoint

    return decorate


def _answer(
    call: Call,
    view: Endpoint,
    name: str | dict[str, str],
    allowed: frozenset[str],
    auth: Auth,
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    request = call.request
    injected = take_fault(api_path(request))
    if injected is not None:
        raise injected
    if request.method not in allowed:
        raise ApiError(BAD_REQUEST, f"method {request.method} is not allowed here", status=405)
    if auth == "tenant":
        call.app = authenticate_tenant(request)
    elif auth == "user":
        call.app, call.user = authenticate_user(request)
    if call.app is not None:
        call.app_id = call.app.app_id
        api = name if isinstance(name, str) else name[request.method or ""]
        enforce_app_limit(call.app.app_id, api)
    call.body = parse_body(request)
    return view(call, **kwargs)


def api_path(request: HttpRequest) -> str:
    """The path as Feishu would see it (``/open-apis/...``), without the sandbox's mount point."""
    path = request.path
    start = path.find(OPEN_APIS)
    return path[start:] if start >= 0 else path


def record_call(request: HttpRequest, app_id: str, http_status: int, code: int) -> None:
    ApiCall.objects.create(
        app_id=app_id,
        method=request.method or "",
        path=api_path(request)[:300],
        http_status=http_status,
        code=code,
    )


def parse_body(request: HttpRequest) -> dict[str, Any]:
    if request.method == "GET" or request.content_type == "multipart/form-data":
        return {}  # a form (an upload): the endpoint reads request.POST and request.FILES
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(BAD_REQUEST, "Bad Request: the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(BAD_REQUEST, "Bad Request: the body must be a JSON object")
    return body


# Feishu's answer to a path its gateway does not know: HTTP 404 with this code (as captured in
# PGYER/fir-cli#324: {"code":99991201,"msg":"resource not find"}).
RESOURCE_NOT_FOUND = 99991201


@csrf_exempt
def not_found(request: HttpRequest, unknown: str = "") -> JsonResponse:
    """Any path under ``/open-apis/`` the sandbox does not serve, in Feishu's shape."""
    record_call(request, "", 404, RESOURCE_NOT_FOUND)
    return JsonResponse({"code": RESOURCE_NOT_FOUND, "msg": "resource not find"}, status=404)


# --- Faults -----------------------------------------------------------------------------------

# A plausible body for each injected status: Feishu's "internal error" family for 5xx.
FAULT_ANSWERS = {
    500: (2200, "Internal Error"),
    502: (2200, "Bad Gateway"),
    503: (2200, "Service Unavailable"),
    504: (2200, "Gateway Timeout"),
}


def take_fault(path: str) -> ApiError | None:
    """Consume one use of the oldest fault matching ``path``, as the answer to give instead."""
    for fault in Fault.objects.filter(remaining__gt=0).order_by("created_at", "id"):
        if not path.startswith(fault.path_prefix):
            continue
        # Conditional decrement: two concurrent calls cannot both take the last use.
        taken = Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if taken:
            return fault_answer(fault)
    return None


# Feishu's messages for the codes a fault is most often given (generic-error-code page).
FAULT_CODE_MESSAGES = {
    99991403: "This month's API call quota has been exceeded.",
    99991661: "Missing access token for authorization.",
    99991663: "Invalid access token for authorization.",
    99991664: "Invalid app access token.",
    99991665: "Invalid tenant access token.",
    99991668: "Invalid access token for authorization.",
    99991671: "Invalid token format.",
    99991677: "Authentication token expired.",
}


def fault_answer(fault: Fault) -> ApiError:
    if fault.code is not None:
        msg = FAULT_CODE_MESSAGES.get(fault.code, "injected fault")
        return ApiError(fault.code, msg, status=fault.status)
    if fault.status == 429:
        return rate_limited(max(1, fault.retry_after))
    code, msg = FAULT_ANSWERS.get(fault.status, (2200, "Internal Error"))
    return ApiError(code, msg, status=fault.status)


# --- Rate limits ------------------------------------------------------------------------------


def rate_limited(retry_after: float, *, limit: int = API_PER_SECOND) -> ApiError:
    """Feishu's gateway answer when a limit is hit: HTTP 429, 99991400, whole seconds to wait."""
    seconds = max(1, math.ceil(retry_after))
    return ApiError(
        RATE_LIMITED,
        RATE_LIMIT_MSG,
        status=429,
        headers={RETRY_AFTER_HEADER: str(seconds), LIMIT_HEADER: str(limit)},
    )


def app_limits(app_id: str, api: str) -> list[Limit]:
    """Feishu counts each API per app (and tenant): 1000/min and 50/s for all the sandbox has."""
    key = f"sandbox:app:{app_id}:{api}"
    return [Limit(key, API_PER_SECOND, 1), Limit(key, API_PER_MINUTE, 60)]


def enforce_app_limit(app_id: str, api: str) -> None:
    wait = sandbox_limiter().acquire(app_limits(app_id, api))
    if wait > 0:
        raise rate_limited(wait)


# --- Tokens -----------------------------------------------------------------------------------


def bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "").strip()
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            TOKEN_MISSING,
            "Missing access token for authorization: send 'Authorization: Bearer <token>'.",
        )
    if not token.startswith(("t-", "u-")):
        raise ApiError(
            TOKEN_BAD_FORMAT, "Invalid access token format: it must start with t- or u-."
        )
    return token


def authenticate_tenant(request: HttpRequest) -> SandboxApp:
    token = bearer_token(request)
    found = (
        AccessToken.objects.filter(
            token_hash=secret_hash(token),
            kind=AccessToken.Kind.TENANT,
            expires_at__gt=timezone.now(),
        )
        .select_related("app")
        .first()
    )
    if found is None:
        raise ApiError(
            TOKEN_INVALID,
            "Invalid access token for authorization: it is unknown or has expired; "
            "fetch a new tenant_access_token.",
        )
    return found.app


def authenticate_user(request: HttpRequest) -> tuple[SandboxApp, SandboxUser]:
    """A ``u-`` token. Unknown or expired ones get 20005 with HTTP 200, as the user_info
    endpoint documents (https://open.feishu.cn/document/server-docs/authentication-management/
    login-state-management/get)."""
    token = bearer_token(request)
    found = (
        AccessToken.objects.filter(
            token_hash=secret_hash(token),
            kind=AccessToken.Kind.USER,
            expires_at__gt=timezone.now(),
        )
        .select_related("app", "user")
        .first()
    )
    if found is None or found.user is None:
        raise ApiError(20005, "The user access token passed is invalid.", status=200)
    return found.app, found.user


def derived_tenant_token(
    app: SandboxApp, row_id: int, expires_at_epoch: int, *, kind: str = "tenant"
) -> str:
    """The tenant token stored as row ``row_id``, which expires at ``expires_at_epoch``.

    Feishu hands back the same token while it has 30 minutes or more left. The sandbox stores
    tokens hashed only, so it derives them (HMAC under SECRET_KEY, keyed by the app's current
    secret and the row) and can compute the same one again; a new secret yields new tokens."""
    material = f"{kind}:{app.app_id}:{app.app_secret}:{row_id}:{expires_at_epoch}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), material, hashlib.sha256).hexdigest()
    return "t-" + digest[:40]


# --- Identity helpers -------------------------------------------------------------------------


def tenant_key() -> str:
    """The sandbox's one tenant: a stable key per installation (Feishu's are 16 hex digits)."""
    return hashlib.sha256(b"sandbox-tenant:" + settings.SECRET_KEY.encode()).hexdigest()[:16]


def p2p_chat_id(app: SandboxApp, user: SandboxUser) -> str:
    """The chat_id of a person's direct chat with an app's bot: stable, derived, never stored."""
    digest = hashlib.sha256(f"p2p:{app.app_id}:{user.user_id}".encode()).hexdigest()
    return "oc_" + digest[:32]


def check_chat(chat: SandboxChat, app: SandboxApp, *, outside: ApiError | None) -> None:
    """What Feishu checks first in a group an API acts in: that it was not disbanded (232009),
    then, when ``outside`` is given, that ``app``'s bot is in it (each API answers that with
    its own code, ``outside``)."""
    if chat.disbanded:
        raise ApiError(CHAT_DISBANDED, "Your request specifies a chat which has been disbanded.")
    if outside is not None and not chat.bots.filter(pk=app.pk).exists():
        raise outside


USER_ID_TYPES = ("open_id", "union_id", "user_id")


def user_id_type_param(call: Call, name: str = "user_id_type") -> str:
    value = call.params.get(name) or "open_id"
    if value not in USER_ID_TYPES:
        raise invalid_field(f"{name} must be one of {', '.join(USER_ID_TYPES)}")
    return value


def external_user_id(app: SandboxApp, user: SandboxUser, id_type: str) -> str:
    """A person's id of ``id_type`` as ``app`` sees it (open_ids differ per app)."""
    if id_type == "open_id":
        return app.open_id_of(user)
    if id_type == "union_id":
        return user.union_id
    return user.user_id


def find_user(app: SandboxApp, id_type: str, value: str) -> SandboxUser | None:
    """The person behind an id of ``id_type`` (an open_id must be one ``app`` gave out)."""
    if not value:
        return None
    if id_type == "open_id":
        return app.user_by_open_id(value)
    if id_type == "union_id":
        return SandboxUser.objects.filter(union_id=value).first()
    if id_type == "user_id":
        return SandboxUser.objects.filter(user_id=value).first()
    if id_type == "email":
        return SandboxUser.objects.filter(email__iexact=value).first()
    return None


def string_list(body: dict[str, Any], key: str, *, max_items: int) -> list[str]:
    """A list-of-strings field (absent = empty) with Feishu's documented maximum length."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_field(f"{key} must be a list of strings")
    if len(value) > max_items:
        raise invalid_field(f"{key} holds {len(value)} items, more than the maximum of {max_items}")
    return value


def optional_string(body: dict[str, Any], key: str, *, max_length: int | None = None) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_field(f"{key} must be a string")
    if max_length is not None and len(value) > max_length:
        raise invalid_field(f"{key} is longer than {max_length} characters")
    return value


def required_string(body: dict[str, Any], key: str) -> str:
    value = optional_string(body, key)
    if not value:
        raise invalid_field(f"{key} is required")
    return value


def epoch_ms(moment: Any) -> str:
    """Feishu's timestamps in message objects: milliseconds since the epoch, as a string."""
    return str(int(moment.timestamp() * 1000))
