"""Cloudflare notifications (generic webhook destination) as an alert source."""

from __future__ import annotations

import hmac
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.cloudflare import parser
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, SourceKind, SourceRefused


class CloudflareSource(SourceKind):
    kind = "cloudflare"
    label = "Cloudflare"
    sender = _("Cloudflare notifications, generic webhook destination")
    identity = _("alert_correlation_id, else policy_id and alert_type")
    recovery = _("alert_event ALERT_STATE_EVENT_END")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        self._check_secret(push)
        return self.parse(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        if not parser.is_test_message(payload):
            return None
        self._check_secret(push)
        return Answer(200, {"ok": True, "message": "Cloudflare test message received."})

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    @staticmethod
    def _check_secret(push: PushRequest) -> None:
        # The destination's secret travels as is in the cf-webhook-auth header.
        sent = push.headers.get("cf-webhook-auth", "")
        if push.secret and not hmac.compare_digest(sent.encode(), push.secret.encode()):
            raise SourceRefused(
                401,
                "invalid_webhook_secret",
                "The cf-webhook-auth header does not match this source's signing secret.",
            )

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In the Cloudflare dashboard, open Notifications → Destinations → Webhooks."),
                _(
                    "URL: {url}; optionally a secret, the same as this source's signing secret."
                ).format(url=push_url),
                _("Save and Test (the test message is answered and not stored)."),
                _("Add the webhook to the notification policies that should page."),
            ],
            snippets=[],
        )
