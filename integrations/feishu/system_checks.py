"""Django system checks for the Feishu integration's settings."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Warning


def sandbox_in_production(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    if settings.FEISHU_SANDBOX_ENABLED and not settings.DEBUG:
        return [
            Warning(
                "The Feishu sandbox is enabled with DEBUG off.",
                hint="Anyone who can reach /sandbox/feishu/ can impersonate Feishu users in "
                "sandbox apps. Set FEISHU_SANDBOX_ENABLED=false unless this is a demo.",
                id="oncall.W101",
            )
        ]
    return []
