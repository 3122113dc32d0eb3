"""Who a Feishu user is in the console: the linked account of an open_id, for one app."""

from __future__ import annotations

from typing import Any

from integrations.feishu.models import FeishuApp, LinkedAccount
from oncall.models import ActionSource
from oncall.timeline import Actor


def linked_user(app: FeishuApp, open_id: str) -> Any | None:
    """The active console user linked to ``open_id`` in ``app``, or None."""
    if not open_id:
        return None
    link = LinkedAccount.objects.filter(app=app, open_id=open_id).select_related("user").first()
    if link is None or not link.user.is_active:
        return None
    return link.user


def feishu_actor(user: Any, app: FeishuApp, *, message_id: str, via: str) -> Actor:
    """An actor for the timeline: a person acting from Feishu, with the message it came from
    (``via`` is "card" or "chat command")."""
    return Actor(
        user, ActionSource.FEISHU, {"app": str(app.public_id), "message_id": message_id, "via": via}
    )


def how_to_link(app: FeishuApp) -> str:
    """What an unlinked person is told (the setup guide's FAQ)."""
    return (
        f"Your Feishu account is not linked to the on-call console yet. Open the app "
        f"“{app.name}” once from the Feishu workplace ({app.web_url}) to link it, then try again."
    )
