"""Who a Feishu user is in the console: the linked account of an open_id, for one app."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext

from integrations.feishu import PLATFORM_NAME
from integrations.feishu.models import FeishuApp
from oncall.timeline import Actor


def linked_user(app: FeishuApp, open_id: str) -> Any | None:
    """The active console user linked to ``open_id`` in ``app``, or None."""
    if not open_id:
        return None
    # The user alone, by a join, with get(): one open_id has one link per app (a unique
    # constraint), and this runs on every card click, where first()'s ordering and a second
    # model to build cost about a millisecond.
    try:
        return get_user_model().objects.get(
            feishu_accounts__app=app, feishu_accounts__open_id=open_id, is_active=True
        )
    except ObjectDoesNotExist:
        return None


def feishu_actor(user: Any, app: FeishuApp, *, message_id: str, via: str) -> Actor:
    """An actor for the timeline: a person acting from Feishu, with the message it came from
    (``via`` is "card" or "chat command")."""
    return Actor(
        user, PLATFORM_NAME, {"app": str(app.public_id), "message_id": message_id, "via": via}
    )


def how_to_link(app: FeishuApp) -> str:
    """What an unlinked person is told (the setup guide's FAQ)."""
    return gettext(
        "Your Feishu account is not linked to the on-call console yet. Open the app "
        "“%(app)s” once from the Feishu workplace (%(url)s) to link it, then try again."
    ) % {"app": app.name, "url": app.web_url}
