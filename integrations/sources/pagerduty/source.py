"""PagerDuty Events API v2 as an alert source (the parser is in ``parser.py``).

Tools written for PagerDuty read its answers, so they get them here too: 202
``{"status": "success", "message": "Event processed", "dedup_key": ...}`` and 400
``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``
(https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). Some tools let you change
only the Events API base URL, so the source also declares PagerDuty's own path, ``v2/enqueue``
(served at ``/push/pagerduty/v2/enqueue``), where the routing key is the push token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from integrations.sources.pagerduty import parser
from oncall.events import AcceptResult, AlertEvent, PayloadError, Severity
from oncall.sources import Answer, SetupGuide, SourceKind


class PagerDutySource(SourceKind):
    kind = "pagerduty"
    label = _("PagerDuty Events API v2")
    sender = _("anything speaking PagerDuty's Events API v2")
    identity = _("`dedup_key`")
    recovery = _("`event_action` `resolve` (`acknowledge` claims)")
    severity_table = (
        ("critical", Severity.CRITICAL),
        ("error", Severity.CRITICAL),
        ("warning", Severity.WARNING),
        ("info", Severity.INFO),
    )

    def recognises(self, payload: Any) -> bool:
        return isinstance(payload, dict) and "event_action" in payload and "routing_key" in payload

    def setup_guide(self, push_url: str) -> SetupGuide:
        enqueue = f"{settings.PUBLIC_BASE_URL}/push/pagerduty/v2/enqueue"
        return SetupGuide(
            [
                str(_("Post Events API v2 bodies to the push URL: {url}").format(url=push_url)),
                str(
                    _(
                        "Or, in a tool where only the Events API address can be changed, use "
                        "{enqueue} with this source's push token (the end of the push URL) as "
                        "the routing key."
                    ).format(enqueue=enqueue)
                ),
            ]
        )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def accepted_answer(self, result: AcceptResult) -> Answer:
        """PagerDuty's 202, plus the console's ``request_id`` and ``unrouted``."""
        return Answer(
            202,
            {
                "status": "success",
                "message": "Event processed",
                "dedup_key": result.events[0].alert_key if result.events else None,
                "request_id": result.request_id,
                "unrouted": list(result.unrouted),
            },
        )

    def invalid_answer(self, error: PayloadError) -> Answer:
        """PagerDuty's 400 for an invalid event; ``errors`` holds the reason."""
        return Answer(
            400,
            {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": [error.message],
            },
        )

    def urls(self) -> Sequence[URLPattern]:
        # Imported here: the view needs the models, and the registry is read while they load
        # (AlertSource.kind's choices).
        from integrations.sources.pagerduty.views import enqueue

        return [path("v2/enqueue", enqueue, name="pagerduty-enqueue")]
