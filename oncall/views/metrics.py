"""``GET /metrics``: the console's metrics for Prometheus (``oncall.metrics``).

Protected by a bearer token and/or an address allow-list (``permissions.metrics_refusal``);
off, with a 404, when neither is configured.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from oncall.metrics import exposition
from oncall.permissions import metrics_refusal
from oncall.views.errors import json_methods

REFUSAL_CODES = {403: "forbidden", 404: "metrics_disabled"}


@never_cache
@json_methods("GET")
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = metrics_refusal(request)
    if refusal is not None:
        status, message = refusal
        return JsonResponse(
            {"error": {"code": REFUSAL_CODES[status], "message": message}}, status=status
        )
    # The classic text format, which every Prometheus version reads (the names need no
    # escaping: they are all plain ASCII).
    return HttpResponse(exposition.render(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
