"""Whether the console has a DingTalk app at all, answered without a query once counted.

Every escalation step asks DingTalk to notify a level, and every incident change asks it to
refresh its cards. A console that uses Feishu alone would pay a few queries each time to learn
that DingTalk has no app, no group and no sent card; with no app none of those can exist. The
answer is kept in the shared cache and dropped on every save and delete of an app, at once and
again when its transaction commits (as Feishu's war-room app count, ``war_rooms.apps_in_use``),
so no process keeps an answer another process changed. A miss counts again in the database.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction

APPS_KEY = "dingtalk:has-apps"


def has_apps() -> bool:
    """Whether any DingTalk app exists (enabled or not: a disabled one may have sent cards)."""
    known = cache.get(APPS_KEY)
    return count_apps() if known is None else bool(known)


def count_apps() -> bool:
    from integrations.dingtalk.models import DingTalkApp

    exists = DingTalkApp.objects.exists()
    cache.set(APPS_KEY, exists, timeout=None)
    return exists


def apps_changed(sender: Any, **kwargs: Any) -> None:
    """``post_save`` / ``post_delete`` of ``DingTalkApp``."""
    forget()
    transaction.on_commit(forget, robust=True)


def forget() -> None:
    cache.delete(APPS_KEY)
