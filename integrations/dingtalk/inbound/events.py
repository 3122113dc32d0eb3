"""What the console does with each DingTalk event it subscribes to: the guide's three group
events keep the list of groups current (one small write each, done while answering).

HTTP push bodies are flat: the event's fields sit next to ``EventType`` (DingTalk's documents
"群内安装酷应用事件", "群内卸载酷应用事件" and "群会话更换群名称", HTTP 推送 examples):

* ``im_cool_app_install`` / ``im_cool_app_uninstall``: ``openConversationId``, ``coolAppCode``,
  ``robotCode``, ``operator`` (the userid), ``openConversationCorpId``;
* ``chat_update_title``: ``openConversationId`` (and the legacy ``chatId``), ``title``.

The install event does not carry the group's name: the group is listed under its id until a
rename (or, in a later slice, a look-up through the group API) names it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils import timezone

from integrations.dingtalk.models import DingTalkApp, DingTalkGroup

logger = logging.getLogger(__name__)

Status = DingTalkGroup.Status
GROUP_ID_MAX = DingTalkGroup._meta.get_field("open_conversation_id").max_length or 128
NAME_MAX = DingTalkGroup._meta.get_field("name").max_length or 255


def handle(app: DingTalkApp, event_type: str, event: dict) -> bool:
    """Act on one event; False when the console does not handle this type. Raises
    ``ValueError`` (with the reason) for an event of a handled type that it cannot use."""
    handler = HANDLERS.get(event_type)
    if handler is None:
        return False
    handler(app, event)
    return True


def _text(event: dict, *names: str, required: bool = True, limit: int = 128) -> str:
    for name in names:
        value = event.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:limit]
    if required:
        raise ValueError(f"the event has no {names[0]}")
    return ""


def _group_id(event: dict) -> str:
    group_id = _text(event, "openConversationId", "OpenConversationId", limit=GROUP_ID_MAX + 1)
    if len(group_id) > GROUP_ID_MAX:
        raise ValueError("the openConversationId is too long")
    return group_id


def cool_app_installed(app: DingTalkApp, event: dict) -> None:
    """The cool app was installed in a group: the group is (again) a place cards can go."""
    now = timezone.now()
    group, created = DingTalkGroup.objects.select_for_update().get_or_create(
        app=app, open_conversation_id=_group_id(event), defaults={"status_changed_at": now}
    )
    if not created and group.status != Status.ACTIVE:  # the row as it was, locked
        group.status_changed_at = now
    group.status = Status.ACTIVE
    group.cool_app_code = _text(event, "coolAppCode", "CoolAppCode", required=False)
    group.robot_code = _text(event, "robotCode", "RobotCode", required=False)
    group.operator = _text(event, "operator", "Operator", required=False)
    group.save(
        update_fields=["status", "status_changed_at", "cool_app_code", "robot_code", "operator"]
    )
    logger.info("DingTalk app %s: cool app installed in group %s", app.pk, group.pk)


def cool_app_uninstalled(app: DingTalkApp, event: dict) -> None:
    """The cool app was uninstalled: the group stays listed, marked broken, so that whatever
    targets it shows why it gets nothing. A group the app never listed is left unlisted."""
    updated = DingTalkGroup.objects.filter(app=app, open_conversation_id=_group_id(event)).update(
        status=Status.UNINSTALLED,
        status_changed_at=timezone.now(),
        operator=_text(event, "operator", "Operator", required=False),
    )
    if not updated:
        logger.info("DingTalk app %s: uninstalled from a group it did not list; ignored", app.pk)


def group_renamed(app: DingTalkApp, event: dict) -> None:
    """A group's new name. Only groups the app knows (its cool app was installed there) are
    listed: a rename elsewhere in the organisation is none of the console's business."""
    title = _text(event, "title", "Title", limit=NAME_MAX)
    group_id = _text(event, "openConversationId", "OpenConversationId", required=False)
    if not group_id:
        raise ValueError("the event has no openConversationId")
    renamed = DingTalkGroup.objects.filter(app=app, open_conversation_id=group_id).update(
        name=title, renamed_at=timezone.now()
    )
    if not renamed:
        logger.info("DingTalk app %s: a group it does not list was renamed; ignored", app.pk)


HANDLERS: dict[str, Callable[[DingTalkApp, dict], None]] = {
    "im_cool_app_install": cool_app_installed,
    "im_cool_app_uninstall": cool_app_uninstalled,
    "chat_update_title": group_renamed,
}
