""" "Check configuration": prove the App ID / App Secret work and list the bot's chats, in words
an admin can act on (Feishu's own code and message, plus what to change)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from integrations.feishu import chats
from integrations.feishu.client import errors
from integrations.feishu.long_connection import setup as long_connection_setup
from integrations.feishu.models import FeishuApp, FeishuChat


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def check_configuration(app: FeishuApp) -> CheckResult:
    """Fetch a fresh tenant token and sync the bot's chats; record and return the outcome."""
    client = app.client()
    client.forget_token()  # a cached token would prove nothing about the current secret
    try:
        result = chats.sync_chats(app)
    except errors.FeishuError as exc:
        outcome = CheckResult(False, _explain(exc))
    else:
        names = list(
            app.chats.filter(status=FeishuChat.Status.ACTIVE).values_list("name", flat=True)[:10]
        )
        listed = f": {', '.join(names)}" if names else ""
        advice = (
            ""
            if app.encrypt_key
            else (" Consider setting an Encrypt Key: without one, callbacks are not signed.")
        )
        outcome = CheckResult(True, f"Credentials work. {result}{listed}.{advice}")
    mode = long_connection_setup.check_note(app)
    if mode:
        outcome = CheckResult(outcome.ok, f"{outcome.message} {mode}")
    FeishuApp.objects.filter(pk=app.pk).update(
        checked_at=timezone.now(), check_ok=outcome.ok, check_message=outcome.message
    )
    return outcome


def _explain(exc: errors.FeishuError) -> str:
    return errors.explain(exc, doing="listing the bot's chats", scopes="im:chat and im:message")
