""" "Check configuration": prove the App ID / App Secret work and list the bot's chats, in words
an admin can act on (Feishu's own code and message, plus what to change)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from integrations.feishu import chats, errors
from integrations.feishu.models import FeishuApp, FeishuChat

# Feishu codes whose fix is in the developer console, with the step to take.
HINTS = {
    99991672: "The app lacks a scope: request im:chat and im:message under Permissions "
    "and publish a new version.",
    99991679: "The app lacks a scope: request im:chat and im:message under Permissions "
    "and publish a new version.",
    1000040351: "The App ID belongs to the other platform: choose Feishu or Lark to match.",
}


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
    FeishuApp.objects.filter(pk=app.pk).update(
        checked_at=timezone.now(), check_ok=outcome.ok, check_message=outcome.message
    )
    return outcome


def _explain(exc: errors.FeishuError) -> str:
    if isinstance(exc, errors.AuthError):
        return str(exc)
    if isinstance(exc, errors.RateLimited):
        return f"Feishu is rate limiting this app; try again in {exc.retry_after:g} s."
    if isinstance(exc, errors.TransientError):
        return f"Feishu could not be reached or failed: {exc}. Try again later."
    hint = HINTS.get(exc.code or 0, "")
    return f"Feishu refused listing the bot's chats ({exc}). {hint}".strip()
