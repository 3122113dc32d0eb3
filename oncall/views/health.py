"""``GET /healthz``: 200 when the database and the broker answer, 503 when either does not.

Load balancers and process supervisors poll it, so every check is bounded in time and the
answer says which part is down.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from oncall.celery import app as celery_app
from oncall.models import InboundEvent

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    return "ok"


CHECKS = {"database": check_database, "broker": check_broker}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report: dict[str, object] = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            report[name] = check()
        except Exception as exc:  # any failure of a dependency means "down", with its reason
            logger.warning("health check %s failed: %s", name, exc)
            report[name] = f"down: {type(exc).__name__}"
            healthy = False
    if report.get("database") == "ok":
        report["pending_events"] = InboundEvent.objects.filter(
            status=InboundEvent.Status.PENDING
        ).count()
    report["status"] = "ok" if healthy else "down"
    return JsonResponse(report, status=200 if healthy else 503)
