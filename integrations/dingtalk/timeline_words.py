"""DingTalk's own timeline message kinds (``ChatPlatform.timeline_messages``, read through
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
        "dingtalk.not_linked": gettext_lazy(
            "App not linked: %(person)s has no linked DingTalk account in %(app)s. They should "
            "sign in with DingTalk once (%(url)s) to link it."
        ),
        "dingtalk.no_user_id": gettext_lazy(
            "No DingTalk userId: %(person)s is linked to %(app)s, but DingTalk did not give "
            "their userid (the app needs the contacts permission). They should sign in with "
            "DingTalk again (%(url)s), or an admin enters the userid on the linked account."
        ),
        "dingtalk.group_uninstalled": gettext_lazy(
            "Not sent to the DingTalk group %(group)s: the cool app was uninstalled there; "
            "install it in the group again."
        ),
        "dingtalk.not_delivered": gettext_lazy(
            "DingTalk card not delivered to %(recipient)s: %(error)s"
        ),
        "dingtalk.not_delivered_after": gettext_lazy(
            "DingTalk card not delivered to %(recipient)s after %(attempts)s attempts: %(error)s"
        ),
        # Why a level or a war room could not reach someone through DingTalk
        "dingtalk.unreachable.no_app_for_rule": gettext_lazy(
            "%(name)s (no DingTalk app delivers the rule)"
        ),
        "dingtalk.unreachable.not_linked": gettext_lazy(
            "%(name)s (no linked DingTalk account in %(app)s)"
        ),
        "dingtalk.unreachable.no_mobile": gettext_lazy(
            "%(name)s (linked without a userid, and no mobile number on the link)"
        ),
        "dingtalk.unreachable.mobile_not_found": gettext_lazy(
            "%(name)s (no member of the organisation has their mobile number)"
        ),
        # ``reason``: DingTalk's refusal in words (``client.errors.explain``)
        "dingtalk.unreachable.refused": gettext_lazy("%(name)s (%(reason)s)"),
    }
)


def dingtalk_phrase(kind: str, **params: Any) -> Phrase:
    """A timeline phrase of DingTalk's own kind (a typo fails here, with a KeyError)."""
    return Phrase(kind, params, TIMELINE_MESSAGES[kind])


def unreachable(why: str, name: str, **params: Any) -> Worded:
    """Why ``name`` was not reached through DingTalk: text where a name is expected (a level
    report, a war room's refusals), in each reader's language on the timeline."""
    return Worded(dingtalk_phrase(f"dingtalk.unreachable.{why}", name=name, **params))
