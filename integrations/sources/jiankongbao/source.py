"""Jiankongbao as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

import hmac
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.jiankongbao import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import PushRequest, SetupGuide, SourceKind, SourceRefused


class JiankongbaoSource(SourceKind):
    kind = "jiankongbao"
    label = _("Jiankongbao")
    sender = _("Jiankongbao URL callback (POST, JSON or form fields)")
    identity = _("`task_id` (the monitoring task)")
    recovery = _("`message_status` 2")
    severity_table = (("1 (fault)", Severity.WARNING), ("2 (reminder)", Severity.INFO))
    # Jiankongbao's callback may post form fields; JSON bodies are still read as JSON.
    form_body = True

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        """With the callback token stored as the source's signing secret, a callback must carry
        Jiankongbao's ``token`` for it (401 otherwise); without one, any callback is taken."""
        if push.secret and isinstance(payload, dict):
            expected = parser.signature(payload, push.secret)
            if not hmac.compare_digest(str(payload.get("token", "")).lower(), expected):
                raise SourceRefused(
                    401,
                    "invalid_signature",
                    "The token does not match the callback token stored as this source's "
                    "signing secret.",
                )
        return self.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In Jiankongbao, open Personal Configuration → Webhooks Settings, add a URL "
                    "callback named after the console with the URL {url}, method POST, data "
                    "format JSON, and enable it."
                ).format(url=push_url),
                _(
                    "Optionally store Jiankongbao's callback token as this source's signing "
                    "secret: callbacks without the matching token are then refused."
                ),
                _("In each monitoring task, choose that callback under Webhook notification."),
            ),
            snippets=(),
        )
