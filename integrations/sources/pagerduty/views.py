"""PagerDuty's own URL shape, ``POST /push/pagerduty/v2/enqueue``, for tools that let you
change only the Events API base URL: the source's push token is the event's ``routing_key``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.sources.pagerduty.source import PagerDutySource
from oncall import metrics
from oncall.views.push import Rejected, accept, authenticate, read_json, require_post


@csrf_exempt
def enqueue(request: HttpRequest) -> JsonResponse:
    try:
        require_post(request)
        body = read_json(request)
        payload = body.payload
        routing_key = payload.get("routing_key") if isinstance(payload, dict) else None
        if not isinstance(routing_key, str) or not routing_key:
            raise Rejected(400, "invalid_payload", "routing_key is required")
        source = authenticate(routing_key, kind=PagerDutySource.kind)
    except Rejected as rejected:
        metrics.push_answered(PagerDutySource.kind, rejected.status, rejected.code)
        # Refusals in PagerDuty's shape too: the sender only knows that one.
        return JsonResponse(
            {
                "status": "invalid event",
                "message": str(rejected.message),
                "errors": [rejected.code],
            },
            status=rejected.status,
            headers=rejected.headers,
        )
    return accept(source, body)
