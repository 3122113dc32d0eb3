"""Keeping ``FeishuChat`` current: the bot added / removed / disbanded events, and a full sync
(an admin action, the API, and a periodic task) that also repairs any event that was missed."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from integrations.feishu.models import FeishuApp, FeishuChat

logger = logging.getLogger(__name__)

Status = FeishuChat.Status


@dataclass(frozen=True)
class SyncResult:
    added: int
    renamed: int
    returned: int
    gone: int
    total: int

    def __str__(self) -> str:
        parts = [
            ngettext("%(count)d chat with the bot", "%(count)d chats with the bot", self.total)
            % {"count": self.total}
        ]
        for count, label in (
            (self.added, gettext("%(count)d new")),
            (self.renamed, gettext("%(count)d renamed")),
            (self.returned, gettext("%(count)d back")),
            (self.gone, gettext("%(count)d no longer with the bot")),
        ):
            if count:
                parts.append(label % {"count": count})
        return gettext(", ").join(parts)


def record_bot_added(app: FeishuApp, chat_id: str, name: str) -> FeishuChat:
    chat, created = FeishuChat.objects.get_or_create(
        app=app, chat_id=chat_id, defaults={"name": name, "status_changed_at": timezone.now()}
    )
    if not created:
        chat.name = name or chat.name
        _set_status(chat, Status.ACTIVE)
        chat.save(update_fields=["name", "status", "status_changed_at"])
    return chat


def record_gone(app: FeishuApp, chat_id: str, status: Status, name: str = "") -> None:
    """The bot left (or was removed from) the chat, or the chat was disbanded. Kept, not
    deleted: escalation rules that target it must show as broken, not silently shrink."""
    chat, _ = FeishuChat.objects.get_or_create(
        app=app, chat_id=chat_id, defaults={"name": name, "status": status}
    )
    if chat.status != status:
        _set_status(chat, status)
        chat.save(update_fields=["status", "status_changed_at"])


def _set_status(chat: FeishuChat, status: Status) -> None:
    if chat.status != status:
        chat.status = status
        chat.status_changed_at = timezone.now()


def sync_chats(app: FeishuApp) -> SyncResult:
    """Fetch every chat the bot is in and make the table agree. Raises the client's
    ``FeishuError`` subclasses, so callers can show Feishu's own words."""
    listed = {item["chat_id"]: item for item in app.client().list_chats() if item.get("chat_id")}
    now = timezone.now()
    added = renamed = returned = 0
    with transaction.atomic():
        known = {c.chat_id: c for c in FeishuChat.objects.select_for_update().filter(app=app)}
        for chat_id, item in listed.items():
            chat = known.get(chat_id)
            name, description = item.get("name") or "", item.get("description") or ""
            if chat is None:
                FeishuChat.objects.create(
                    app=app, chat_id=chat_id, name=name, description=description, synced_at=now
                )
                added += 1
                continue
            renamed += chat.name != name
            returned += chat.status != Status.ACTIVE
            chat.name, chat.description, chat.synced_at = name, description, now
            _set_status(chat, Status.ACTIVE)
            chat.save()
        missing = [c for chat_id, c in known.items() if chat_id not in listed]
        gone = 0
        for chat in missing:
            if chat.status == Status.ACTIVE:
                _set_status(chat, Status.BOT_REMOVED)
                gone += 1
            chat.synced_at = now
            chat.save(update_fields=["status", "status_changed_at", "synced_at"])
        FeishuApp.objects.filter(pk=app.pk).update(chats_synced_at=now)
    result = SyncResult(added, renamed, returned, gone, len(listed))
    logger.info("Feishu app %s: chat sync: %s", app.pk, result)
    return result
