"""The push endpoint every alert source posts to: ``POST /push/<token>``.

Monitoring systems want a fast answer and retry on 5xx, so this view only authenticates, parses,
routes and stores (see ``oncall.ingest.accept``); merging into incidents happens in a worker.
Anything it cannot use gets a 4xx JSON answer with the reason and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oncall import ingest
from oncall.events import AcceptResult, PayloadError
from oncall.models import AlertSource
from oncall.models.sources import hash_token
from oncall.sources import source_module


class Rejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JsonResponse:
        return error_response(self.status, self.code, self.message)


def error_response(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


@csrf_exempt
@require_POST
def push(request: HttpRequest, token: str) -> JsonResponse:
    try:
        source = _authenticate(token)
        payload, size = _read_json(request)
    except Rejected as rejected:
        return rejected.response()
    return _accept(source, payload, size)


@csrf_exempt
@require_POST
def pagerduty_enqueue(request: HttpRequest) -> JsonResponse:
    """PagerDuty's own URL shape: the source's token is the event's ``routing_key``, for tools
    that let you change only the Events API base URL."""
    try:
        payload, size = _read_json(request)
        routing_key = payload.get("routing_key") if isinstance(payload, dict) else None
        if not isinstance(routing_key, str) or not routing_key:
            raise Rejected(400, "invalid_payload", "routing_key is required")
        source = _authenticate(routing_key, kind="pagerduty")
    except Rejected as rejected:
        return JsonResponse(
            {"status": "invalid event", "message": rejected.message, "errors": [rejected.code]},
            status=rejected.status,
        )
    return _accept(source, payload, size)


def _accept(source: AlertSource, payload: Any, size: int) -> JsonResponse:
    module = source_module(source.kind)
    try:
        result = ingest.accept(source, payload, body_bytes=size)
    except PayloadError as error:
        if hasattr(module, "error_response"):
            status, body = module.error_response(error)
            return JsonResponse(body, status=status)
        return error_response(400, "invalid_payload", error.message, field=error.field)
    if hasattr(module, "accepted_response"):
        status, body = module.accepted_response(result)
        return JsonResponse(body, status=status)
    return JsonResponse(_default_accepted_body(result))


def _default_accepted_body(result: AcceptResult) -> dict[str, Any]:
    return {
        "request_id": result.request_id,
        "accepted": len(result.events) - len(result.unrouted),
        "alert_keys": [event.alert_key for event in result.events],
        "unrouted": result.unrouted,
        "notes": result.notes,
    }


def _authenticate(token: str, *, kind: str | None = None) -> AlertSource:
    # Looked up by SHA-256: the database compares digests, never the token itself.
    source = AlertSource.objects.filter(token_hash=hash_token(token)).first()
    if source is None or (kind and source.kind != kind):
        raise Rejected(401, "invalid_token", "No alert source has this push token.")
    if not source.enabled:
        raise Rejected(403, "source_disabled", f"The alert source {source.name!r} is disabled.")
    return source


def _read_json(request: HttpRequest) -> tuple[Any, int]:
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
