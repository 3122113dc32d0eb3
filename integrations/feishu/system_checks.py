"""Django system checks for the Feishu integration's settings."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from integrations.chatkit.system_checks import host_the_guard_refuses


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


def sandbox_outside_the_allow_list(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """The sandbox on this machine is refused by the outbound guard unless its network is
    allow-listed: say so at start-up, not at the first "check configuration"."""
    if not settings.FEISHU_SANDBOX_ENABLED:
        return []
    host = host_the_guard_refuses(settings.FEISHU_SANDBOX_BASE_URL)
    if host is None:
        return []
    return [
        Warning(
            f"The Feishu sandbox at {host} will be refused by the outbound (SSRF) guard.",
            hint="Allow its network, e.g. OUTBOUND_ALLOWED_NETWORKS=127.0.0.0/8,::1/128 for "
            "this machine (python3 dev.py up sets this).",
            id="oncall.W102",
        )
    ]


def receipts_outlive_the_replay_window(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """A signed event older than the receipts of event ids but inside the replay window would
    be processed a second time: the receipts must be kept longer than the window."""
    kept = settings.FEISHU_CALLBACK_RECEIPT_RETENTION_DAYS * 86400
    if kept > settings.FEISHU_CALLBACK_MAX_SKEW_SECONDS:
        return []
    return [
        Error(
            "FEISHU_CALLBACK_RECEIPT_RETENTION_DAYS keeps event ids for less time than "
            "FEISHU_CALLBACK_MAX_SKEW_SECONDS accepts a signed callback.",
            hint="A replayed event could then be processed twice. Keep receipts longer than "
            "the replay window (README: Feishu / Lark).",
            id="oncall.E103",
        )
    ]
