"""Feishu's own timeline message kinds (``ChatPlatform.timeline_messages``, read through
``oncall.timeline_messages``): why a card did not go out. Lazy strings only, so that the
platform and its writers import it without loading models."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from oncall.timeline_messages import Phrase, Worded

TIMELINE_MESSAGES: Mapping[str, Promise] = MappingProxyType(
    {
        "feishu.not_linked": gettext_lazy(
            "App not linked: %(person)s has no linked account in %(app)s. They should open the "
            "app once from the Feishu workplace (%(url)s) to link it."
        ),
        "feishu.chat_disbanded": gettext_lazy("Not sent to %(chat)s: the chat was disbanded."),
        "feishu.bot_not_in_chat": gettext_lazy(
            "Not sent to %(chat)s: the bot is not in this chat; add it in Feishu, then sync chats."
        ),
        "feishu.not_delivered": gettext_lazy("Card not delivered to %(recipient)s: %(error)s"),
        # The Open API budget (``integrations.feishu.budget``)
        "feishu.budget_warning": gettext_lazy(
            "Feishu API budget: %(app)s has made %(percent)s %% of its %(limit)s Open API calls "
            "this month (%(plan)s). Past the quota, Feishu refuses every card until the month "
            "ends."
        ),
        "feishu.plan.quota": gettext_lazy("the quota set for this app"),
        "feishu.plan.free": gettext_lazy("the free plan"),
        "feishu.plan.unlimited": gettext_lazy("an unlimited plan"),
        # Why a level could not reach someone through Feishu (``FeishuPlatform.notify``), or a
        # war room could not invite them (``war_rooms.invite``: ``not_linked`` and the next)
        "feishu.unreachable.no_app_on_rule": gettext_lazy(
            "%(name)s (no Feishu app is set on the rule)"
        ),
        "feishu.unreachable.no_app_for_incident": gettext_lazy(
            "%(name)s (no Feishu app delivers this incident)"
        ),
        "feishu.unreachable.not_linked": gettext_lazy(
            "%(name)s (no linked Feishu account in %(app)s)"
        ),
        "feishu.unreachable.not_added": gettext_lazy(
            "%(name)s (outside the app's availability, or unknown to Feishu)"
        ),
        # Why a notice in words could not reach someone (``notices.send``)
        "feishu.unreachable.no_account": gettext_lazy("%(name)s (no linked Feishu account)"),
        "feishu.not_delivered_after": gettext_lazy(
            "Card not delivered to %(recipient)s after %(attempts)s attempts: %(error)s"
        ),
    }
)


def feishu_phrase(kind: str, **params: Any) -> Phrase:
    """A timeline phrase of Feishu's own kind (a typo fails here, with a KeyError)."""
    return Phrase(kind, params, TIMELINE_MESSAGES[kind])


def unreachable(why: str, name: str, **params: Any) -> Worded:
    """Why ``name`` was not reached through Feishu (a ``feishu.unreachable.*`` kind): text where
    a name is expected (a war room's refusals), in each reader's language on the timeline."""
    return Worded(feishu_phrase(f"feishu.unreachable.{why}", name=name, **params))
