"""Django system checks for the DingTalk integration's settings."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from integrations.chatkit.system_checks import host_the_guard_refuses


def sandbox_in_production(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    if settings.DINGTALK_SANDBOX_ENABLED and not settings.DEBUG:
        return [
            Warning(
                "The DingTalk sandbox is enabled with DEBUG off.",
                hint="Anyone who can reach /sandbox/dingtalk/ can push events to the console's "
                "sandbox apps. Set DINGTALK_SANDBOX_ENABLED=false unless this is a demo.",
                id="oncall.W111",
            )
        ]
    return []


def sandbox_outside_the_allow_list(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """The sandbox on this machine is refused by the outbound guard unless its network is
    allow-listed: say so at start-up, not at the first "check configuration"."""
    if not settings.DINGTALK_SANDBOX_ENABLED:
        return []
    host = host_the_guard_refuses(settings.DINGTALK_SANDBOX_BASE_URL)
    if host is None:
        return []
    return [
        Warning(
            f"The DingTalk sandbox at {host} will be refused by the outbound (SSRF) guard.",
            hint="Allow its network, e.g. OUTBOUND_ALLOWED_NETWORKS=127.0.0.0/8,::1/128 for "
            "this machine (python3 dev.py up sets this).",
            id="oncall.W112",
        )
    ]


def receipts_outlive_the_replay_window(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """A signed push older than the receipts but inside the window would be accepted twice:
    the receipts must be kept longer than the window."""
    kept = settings.DINGTALK_EVENT_RECEIPT_RETENTION_DAYS * 86400
    if kept > settings.DINGTALK_EVENT_MAX_SKEW_SECONDS:
        return []
    return [
        Error(
            "DINGTALK_EVENT_RECEIPT_RETENTION_DAYS keeps pushes for less time than "
            "DINGTALK_EVENT_MAX_SKEW_SECONDS accepts a signed push.",
            hint="A replayed push could then be accepted twice. Keep receipts longer than "
            "the replay window (README: DingTalk).",
            id="oncall.E113",
        )
    ]
