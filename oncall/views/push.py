"""The push endpoint every alert source posts to: ``POST /push/<token>``.

Monitoring systems want a fast answer and retry on 5xx, so this view only authenticates, parses,
routes and stores (see ``oncall.ingest.accept``); merging into incidents happens in a worker.
Anything it cannot use gets a 4xx JSON answer with the reason and nothing is stored. The answers
to a parsed push are the source's (``oncall.sources.SourceKind``); a source with a URL of its own
(PagerDuty's ``/v2/enqueue``) builds its view from ``authenticate``, ``read_json`` and ``accept``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oncall import ingest, metrics
from oncall.events import PayloadError
from oncall.models import AlertSource
from oncall.models.sources import hash_token
from oncall.sources import Answer, console_error, source_kind


class Rejected(Exception):
    """A push refused before its payload was parsed (bad token, bad JSON, too large)."""

    def __init__(self, status: int, code: str, message: str, *, kind: str = metrics.UNKNOWN):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.kind = kind  # the source's, when it is known (``/metrics`` counts by kind)

    def response(self, source: AlertSource | None = None) -> JsonResponse:
        kind = source.kind if source else self.kind
        return _respond(console_error(self.status, self.code, self.message), kind)


@csrf_exempt
@require_POST
def push(request: HttpRequest, token: str) -> JsonResponse:
    source = None
    try:
        source = authenticate(token)
        payload, size = read_json(request)
    except Rejected as rejected:
        return rejected.response(source)
    return accept(source, payload, size)


def accept(source: AlertSource, payload: Any, size: int) -> JsonResponse:
    """Parse, route and store an authenticated push; answer as its source's sender expects.

    Public for the views a source declares in its ``urls()``."""
    kind = source_kind(source.kind)
    try:
        result = ingest.accept(source, payload, body_bytes=size)
    except ingest.TooManyAlerts as error:
        answer = console_error(
            413, "too_many_alerts", error.message, limit=error.limit, count=error.count
        )
        return _respond(answer, source.kind)
    except PayloadError as error:
        # The source's own shape may carry no code (PagerDuty's): named here.
        return _respond(kind.invalid_answer(error), source.kind, "invalid_payload")
    return _respond(kind.accepted_answer(result), source.kind)


def _respond(answer: Answer, kind: str = metrics.UNKNOWN, code: str = "") -> JsonResponse:
    """Every answer of ``push`` and ``accept`` goes out here and is counted for ``/metrics``
    under the source's kind and the answer's error code (``code`` when the body has none)."""
    metrics.push_answered(kind, answer.status, code or _error_code(answer))
    return JsonResponse(answer.body, status=answer.status)


def _error_code(answer: Answer) -> str:
    error = answer.body.get("error")
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def authenticate(token: str, *, kind: str | None = None) -> AlertSource:
    """The enabled source with this push token (and of this kind, if given), else ``Rejected``."""
    # Looked up by SHA-256: the database compares digests, never the token itself.
    source = AlertSource.objects.filter(token_hash=hash_token(token)).first()
    if source is None or (kind and source.kind != kind):
        raise Rejected(401, "invalid_token", "No alert source has this push token.")
    if not source.enabled:
        message = f"The alert source {source.name!r} is disabled."
        raise Rejected(403, "source_disabled", message, kind=source.kind)
    return source


def read_json(request: HttpRequest) -> tuple[Any, int]:
    """The decoded JSON body and its size in bytes, else ``Rejected`` (413 or 400)."""
    limit = settings.PUSH_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise Rejected(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise Rejected(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    try:
        return json.loads(body.decode("utf-8")), len(body)
    except UnicodeDecodeError:
        raise Rejected(400, "invalid_json", "The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise Rejected(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
