"""Notices in words through Feishu (``FeishuPlatform.send_notice``): a direct message to each
person's linked account, e.g. "You are on call for SRE primary from 18:00".

A person linked in several apps gets the notice once, through the only enabled app when they
are linked there (the app that delivers rules without a chosen one), else through the app they
linked first. The message goes out from a task queued on commit (``tasks.send_notice``), with
the notice's key as Feishu's uuid, so that a retry posts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from integrations.feishu import PLATFORM_NAME
from integrations.feishu.escalation_targets import default_delivering_app
from integrations.feishu.models import LinkedAccount
from integrations.feishu.timeline_words import feishu_phrase
from oncall import platforms
from oncall.platforms import LevelReport, person_name
from oncall.timeline_messages import Worded

# Feishu's uuid of a message is at most 50 characters.
UUID_MAX_CHARS = 50


def send(people: Sequence[Any], text: str, key: str) -> LevelReport:
    accounts = _accounts_of(people)
    notified: list[str] = []
    unreachable: list[str] = []
    reached: list[int] = []
    for user in people:
        account = accounts.get(user.pk)
        if account is None:
            unreachable.append(
                Worded(feishu_phrase("feishu.unreachable.no_account", name=person_name(user)))
            )
            continue
        notified.append(person_name(user))
        reached.append(user.pk)
        _send_on_commit(account, text, f"{key}-{user.pk}"[:UUID_MAX_CHARS])
    if unreachable:
        platforms.notifications_failed(PLATFORM_NAME, "not_linked", len(unreachable))
    return LevelReport(notified, unreachable, reached)


def _accounts_of(people: Sequence[Any]) -> dict[int, LinkedAccount]:
    """Each person's account to send through, in enabled apps, in one query (and one for the
    only enabled app)."""
    preferred = default_delivering_app()
    chosen: dict[int, LinkedAccount] = {}
    linked = LinkedAccount.objects.filter(
        user__in=[user.pk for user in people], app__enabled=True
    ).order_by("linked_at", "pk")
    for account in linked:
        if account.user_id not in chosen or (preferred and account.app_id == preferred.pk):
            chosen[account.user_id] = account
    return chosen


def _send_on_commit(account: LinkedAccount, text: str, uuid: str) -> None:
    from integrations.feishu.tasks import send_notice

    app_id, open_id = account.app_id, account.open_id
    transaction.on_commit(lambda: send_notice.delay(app_id, open_id, text, uuid))
