"""Sentry (internal integration webhooks) as an alert source, checking Sentry's signature when
the source has the integration's client secret."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.sentry import parser
from oncall.events import AlertEvent
from oncall.sources import PushRequest, SetupGuide, SourceKind, SourceRefused

SIGNATURE_HEADER = "sentry-hook-signature"
RESOURCE_HEADER = "sentry-hook-resource"


def signature(secret: str, body: bytes) -> str:
    """Sentry's ``Sentry-Hook-Signature``: HMAC-SHA256 of the body with the client secret, in
    hex. https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#verifying-the-signature"""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SentrySource(SourceKind):
    kind = "sentry"
    label = "Sentry"
    sender = _("Sentry internal integration (alert rule action, issue webhooks)")
    identity = _("the issue id (issue alerts and issue webhooks); the metric alert's incident id")
    recovery = _("metric alert action resolved; issue webhook action resolved")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        if push.secret:
            sent = push.headers.get(SIGNATURE_HEADER, "")
            expected = signature(push.secret, push.raw_body)
            if not hmac.compare_digest(sent.strip().lower(), expected):
                raise SourceRefused(
                    401,
                    "invalid_signature",
                    "Sentry-Hook-Signature does not match the body signed with this source's "
                    "signing secret (the integration's client secret).",
                )
        return parser.parse(payload, push.headers.get(RESOURCE_HEADER, ""))

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In Sentry, open Settings → Custom Integrations; create an internal one."),
                _("Webhook URL: {url}; turn on Alert Rule Action.").format(url=push_url),
                _(
                    "Permissions: Issue & Event read; Webhooks: tick issue (so that resolving "
                    "an issue in Sentry resolves its alert here)."
                ),
                _(
                    "Save, then copy the integration's Client Secret into this source's signing "
                    "secret, so that unsigned requests are refused."
                ),
                _(
                    "In issue and metric alert rules, add the action “Send a notification via” "
                    "this integration."
                ),
            ],
        )
