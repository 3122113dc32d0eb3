"""Endpoint configuration shared by the admin and the API: enabling one again. Its headers are
checked by ``oncall.webhooks.headers``; its signing secret is the model's
(``oncall.models.signed_receivers``)."""

from __future__ import annotations

from oncall.models import WebhookEndpoint


def enable(endpoint: WebhookEndpoint) -> None:
    """Enabled again by an admin: the failing streak and its notice are cleared."""
    endpoint.failing_since = None
    endpoint.disabled_reason = ""
