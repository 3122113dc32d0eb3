"""Cisco Meraki webhooks as an alert source, checking the HTTP server's shared secret."""

from __future__ import annotations

import hmac
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.meraki import parser
from oncall.events import AlertEvent
from oncall.sources import PushRequest, SetupGuide, SourceKind, SourceRefused


class MerakiSource(SourceKind):
    kind = "meraki"
    label = "Cisco Meraki"
    sender = _("Cisco Meraki dashboard webhook (HTTPS receiver, payload template “Meraki”)")
    identity = _("alertTypeId on deviceSerial (else networkId)")
    recovery = _(
        "a device's started_reporting resolves its stopped_reporting; others do not recover"
    )
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        # Meraki has no signature: it repeats the HTTP server's shared secret in the body.
        if push.secret and not hmac.compare_digest(
            parser.shared_secret(payload).encode(), push.secret.encode()
        ):
            raise SourceRefused(
                401,
                "invalid_shared_secret",
                "The body's sharedSecret does not match this source's signing secret.",
            )
        return self.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In the Meraki dashboard, open Network-wide → Alerts → Webhooks."),
                _(
                    "Add an HTTPS receiver with the URL {url} and the payload template Meraki."
                ).format(url=push_url),
                _(
                    "Shared secret: optional; when set, enter the same value as this source's "
                    "signing secret, and requests carrying another are refused."
                ),
                _("Select the receiver for the alerts that should page, and save."),
            ],
            snippets=[],
        )
