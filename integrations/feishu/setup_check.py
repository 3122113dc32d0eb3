""" "Check configuration": prove the App ID / App Secret work and list the bot's chats, in words
an admin can act on (Feishu's own code and message, plus what to change)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.feishu import chats
from integrations.feishu.client import errors
from integrations.feishu.long_connection import setup as long_connection_setup
from integrations.feishu.models import FeishuApp, FeishuChat

EMAIL_SCOPE = "contact:user.email:readonly"
PHONE_SCOPE = "contact:user.phone:readonly"


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
            else " "
            + _(
                "Consider setting an Encrypt Key (加密策略): without one, callbacks are not signed."
            )
        )
        scopes = f" {linking_scopes_note(app)}" if linking_scopes_note(app) else ""
        works = _("Credentials work.")
        outcome = CheckResult(True, f"{works} {result}{listed}.{advice}{scopes}")
    mode = long_connection_setup.check_note(app)
    if mode:
        outcome = CheckResult(outcome.ok, f"{outcome.message} {mode}")
    FeishuApp.objects.filter(pk=app.pk).update(
        checked_at=timezone.now(), check_ok=outcome.ok, check_message=outcome.message
    )
    return outcome


def _explain(exc: errors.FeishuError) -> str:
    return errors.explain(exc, doing=_("listing the bot's chats"), scopes="im:chat and im:message")


def linking_scopes_note(app: FeishuApp) -> str:
    """What the last Feishu sign-in's user info says about the scopes linking needs: Feishu
    leaves ``email`` out without ``contact:user.email:readonly``, and people are matched to
    console accounts by email. Empty when nothing needs saying."""
    if app.user_info_has_email is False:
        return _(
            "Warning: the user info of the last Feishu sign-in had no email address, so people "
            "cannot be matched to console accounts by email. Request the permission "
            "%(scope)s (获取用户邮箱信息) under Permissions & Scopes (权限管理) in the Feishu "
            "developer console and publish a new version (unless that person has no email in "
            "Feishu)."
        ) % {"scope": EMAIL_SCOPE}
    if app.user_info_has_email is None:
        return _("The email permission (%(scope)s) is checked at the first Feishu sign-in.") % {
            "scope": EMAIL_SCOPE
        }
    return ""
