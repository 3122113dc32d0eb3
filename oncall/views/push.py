"""The push endpoint every alert source posts to: ``POST /push/<token>``.

Monitoring systems want a fast answer and retry on 5xx, so this view only authenticates, parses,
routes and stores (see ``oncall.ingest.accept``); merging into incidents happens in a worker.
Anything it cannot use gets a 4xx JSON answer with the reason and nothing is stored. The answers
to a parsed push are the source's (``oncall.sources.SourceKind``); a source with a URL of its own
(PagerDuty's ``/v2/enqueue``) builds its view from ``require_post``, ``authenticate``,
``read_json`` and ``accept``. A change source's push (``oncall.change_events``) takes the same
door and is recorded as changes by ``oncall.changes.accept``: it never becomes an alert.

Bodies are read by ``oncall.jsonbody``, the one reader for the edge: JSON too deep or with
numbers Python cannot read is a 400 ``invalid_json`` with the reason, and text the console
cannot store (NUL, lone surrogates) is replaced with U+FFFD and noted on the stored push.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from oncall import changes, ingest, jsonbody, metrics
from oncall.change_events import ChangeSourceKind
from oncall.events import PayloadError
from oncall.models import AlertSource
from oncall.models.sources import hash_token
from oncall.sources import Answer, console_error, source_kind


class Rejected(Exception):
    """A push refused before its payload was parsed (bad method, token or JSON, too large)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        kind: str = metrics.UNKNOWN,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.kind = kind  # the source's, when it is known (``/metrics`` counts by kind)
        self.headers = headers or {}

    def response(self, source: AlertSource | None = None) -> JsonResponse:
        kind = source.kind if source else self.kind
        answer = console_error(self.status, self.code, self.message)
        return _respond(answer, kind, headers=self.headers)


class Body(NamedTuple):
    """A push's decoded JSON, its size in bytes, and notes on what reading it changed."""

    payload: Any
    size: int
    notes: list[str]


@csrf_exempt
def push(request: HttpRequest, token: str) -> JsonResponse:
    source = None
    try:
        require_post(request)
        source = authenticate(token)
        body = read_json(request)
    except Rejected as rejected:
        return rejected.response(source)
    return accept(source, body)


def accept(source: AlertSource, body: Body) -> JsonResponse:
    """Parse, route and store an authenticated push; answer as its source's sender expects.

    Public for the views a source declares in its ``urls()``."""
    kind = source_kind(source.kind)
    if isinstance(kind, ChangeSourceKind):
        return _accept_changes(source, kind, body)
    try:
        result = ingest.accept(source, body.payload, body_bytes=body.size, edge_notes=body.notes)
    except ingest.TooManyAlerts as error:
        answer = console_error(
            413, "too_many_alerts", error.message, limit=error.limit, count=error.count
        )
        return _respond(answer, source.kind)
    except PayloadError as error:
        # The source's own shape may carry no code (PagerDuty's): named here.
        return _respond(kind.invalid_answer(error), source.kind, "invalid_payload")
    return _respond(kind.accepted_answer(result), source.kind)


def _accept_changes(source: AlertSource, kind: ChangeSourceKind, body: Body) -> JsonResponse:
    """A change source's push: recorded as changes, never as alerts (``oncall.change_events``)."""
    try:
        result = changes.accept(
            source, kind, body.payload, body_bytes=body.size, edge_notes=body.notes
        )
    except PayloadError as error:
        return _respond(kind.invalid_answer(error), source.kind, "invalid_payload")
    return _respond(kind.accepted_changes_answer(result), source.kind)


def _respond(
    answer: Answer,
    kind: str = metrics.UNKNOWN,
    code: str = "",
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """Every answer of ``push`` and ``accept`` goes out here and is counted for ``/metrics``
    under the source's kind and the answer's error code (``code`` when the body has none)."""
    metrics.push_answered(kind, answer.status, code or _error_code(answer))
    return JsonResponse(answer.body, status=answer.status, headers=headers)


def _error_code(answer: Answer) -> str:
    error = answer.body.get("error")
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def require_post(request: HttpRequest) -> None:
    """``Rejected`` (405, in JSON like every other refusal) unless the request is a POST.
    Django's ``require_POST`` answers an empty HTML page, which a sender's log shows as nothing."""
    if request.method != "POST":
        raise Rejected(
            405,
            "method_not_allowed",
            f"Alerts are pushed with POST; {request.method} is not accepted here.",
            headers={"Allow": "POST"},
        )


def authenticate(token: str, *, kind: str | None = None) -> AlertSource:
    """The enabled source with this push token (and of this kind, if given), else ``Rejected``."""
    # No token holds a character that cannot be stored (nor hashed: a lone surrogate has no
    # UTF-8 form), so such a token matches no source.
    if jsonbody.unstorable(token):
        raise Rejected(401, "invalid_token", "No alert source has this push token.")
    # Looked up by SHA-256: the database compares digests, never the token itself.
    source = AlertSource.objects.filter(token_hash=hash_token(token)).first()
    if source is None:
        raise Rejected(401, "invalid_token", "No alert source has this push token.")
    if kind and source.kind != kind:
        # The sender holds a real token: say what is wrong with using it here (never the token).
        raise Rejected(
            403,
            "wrong_source_kind",
            f"This push token belongs to a source of kind {source.kind!r}, and this URL takes "
            f"only {kind!r} sources: push to the source's own URL, /push/<token>.",
            kind=source.kind,
        )
    if not source.enabled:
        message = f"The alert source {source.name!r} is disabled."
        raise Rejected(403, "source_disabled", message, kind=source.kind)
    return source


def read_json(request: HttpRequest) -> Body:
    """The decoded JSON body, else ``Rejected`` (413, or 400 with the reason)."""
    limit = settings.PUSH_MAX_BODY_BYTES
    body = jsonbody.read_limited(request, limit)
    if body is None:
        raise Rejected(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    try:
        decoded = jsonbody.decode(body)
    except jsonbody.InvalidJSON as invalid:
        raise Rejected(400, "invalid_json", invalid.reason) from None
    note = jsonbody.replacement_note(decoded.replaced)
    return Body(decoded.value, len(body), [note] if note else [])
