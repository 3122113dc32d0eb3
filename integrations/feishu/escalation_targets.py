"""Feishu's part of escalation rules and levels: which app delivers a rule's cards, and each
level's group chats (``oncall.platforms.TargetFields``, for the REST API and the admin).

A rule without a chosen app is delivered by the console's only enabled app, when there is
exactly one. A level's chats must belong to the app that delivers its rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from integrations.chatkit import targets
from integrations.chatkit.targets import AppAndGroupTargets
from integrations.feishu.models import (
    AutoWarRoom,
    FeishuApp,
    FeishuChat,
    LinkedAccount,
    RuleApp,
    RuleWarRoom,
)
from oncall.models import EscalationLevel, EscalationRule
from oncall.timeline import display_name

RULE_APP = "feishu_app"
RULE_WAR_ROOM = "feishu_war_room"
LEVEL_CHATS = "chats"
# "Not given: look it up" (None is a valid answer: no app delivers).
LOOK_UP: Any = object()


# --- Storage ------------------------------------------------------------------------------------


def chosen_app(rule: EscalationRule) -> FeishuApp | None:
    """The app chosen for ``rule`` (``RuleApp``), or None. Uses a ``select_related`` or
    prefetch of ``feishu_delivery__app`` when the caller made one."""
    try:
        return rule.feishu_delivery.app
    except ObjectDoesNotExist:
        return None


def choose_app(rule: EscalationRule, app: FeishuApp | None) -> None:
    """Make ``app`` deliver ``rule``'s cards; None: the only enabled app."""
    if app is None:
        RuleApp.objects.filter(rule=rule).delete()
    else:
        RuleApp.objects.update_or_create(rule=rule, defaults={"app": app})
    # The cached relation (from a select_related) no longer says the truth.
    rule._state.fields_cache.pop("feishu_delivery", None)


def war_room_option(rule: EscalationRule) -> str:
    """When the rule opens a war room by itself (``AutoWarRoom``; "" never)."""
    try:
        return rule.feishu_war_room.when
    except ObjectDoesNotExist:
        return AutoWarRoom.NEVER


def choose_war_room_option(rule: EscalationRule, when: str) -> None:
    if when:
        RuleWarRoom.objects.update_or_create(rule=rule, defaults={"when": when})
    else:
        RuleWarRoom.objects.filter(rule=rule).delete()
    rule._state.fields_cache.pop("feishu_war_room", None)


def level_chats(level: EscalationLevel) -> list[FeishuChat]:
    return list(level.feishu_chats.all())


def standing_chats() -> Any:
    """The chats a level may notify: not war rooms, which live and die with one incident (the
    knowledge base: a war room is never a standing notification target)."""
    return FeishuChat.objects.filter(war_rooms__isnull=True)


def default_delivering_app() -> FeishuApp | None:
    """The only enabled app (None for zero or several): what a rule without one uses."""
    apps = list(FeishuApp.objects.filter(enabled=True)[:2])
    return apps[0] if len(apps) == 1 else None


def delivering_app(rule: EscalationRule, default_app: Any = LOOK_UP) -> FeishuApp | None:
    """The app that delivers ``rule``'s cards: the chosen one, else the only enabled app. Whoever
    asks for many rules passes ``default_app`` (read once) instead of a query per rule."""
    if default_app is LOOK_UP and not EscalationRule.feishu_delivery.is_cached(rule):
        return targets.delivering_app(rule, FeishuApp.objects.all(), RuleApp, "feishu_delivery")
    app = chosen_app(rule)
    if app is not None:
        return app
    return default_delivering_app() if default_app is LOOK_UP else default_app


def rule_problems(rule: EscalationRule, default_app: Any = LOOK_UP) -> list[str]:
    """Why some targets won't receive anything, in words for the admin: no app delivers the
    rule, or a chat the bot was removed from (or that was disbanded)."""
    problems = []
    chosen = chosen_app(rule)
    app = delivering_app(rule, default_app)
    if app is None and chosen is None:
        problems.append(
            "No Feishu app is chosen and there is not exactly one enabled app: "
            "choose the app that delivers this rule's cards."
        )
    elif app is not None and not app.enabled:
        problems.append(f"The Feishu app {app} is disabled: nothing is delivered.")
    # Sorted here rather than by the database, so that a prefetch (the API's) is used.
    levels = sorted(rule.levels.all(), key=lambda level: (level.position, level.pk))
    for number, level in enumerate(levels, start=1):
        for chat in level_chats(level):
            if not chat.usable:
                problems.append(f"Level {number}: chat {chat} ({chat.get_status_display()}).")
            elif app is not None and chat.app_id != app.pk:
                problems.append(f"Level {number}: chat {chat} belongs to another Feishu app.")
    if app is not None:
        problems.extend(_unlinked_recipients(levels, app))
    return problems


def _unlinked_recipients(levels: Sequence[EscalationLevel], app: FeishuApp) -> list[str]:
    recipients = [(number, level.recipients()) for number, level in enumerate(levels, start=1)]
    everyone = {user.pk: user for _, people in recipients for user in people}
    unlinked = {user.pk for user in not_linked(app, everyone.values())}
    problems = []
    for number, people in recipients:
        names = [display_name(user) for user in people if user.pk in unlinked]
        if names:
            problems.append(
                f"Level {number}: {', '.join(names)} not linked to {app}: their cards are "
                "recorded as “app not linked” until each opens the app once from the Feishu "
                "workplace."
            )
    return problems


def not_linked(app: FeishuApp, people: Iterable[Any]) -> list[Any]:
    """Those of ``people`` whom ``app``'s cards cannot reach: they have no linked account in
    it. The one test of a person's reachability: sending (``delivery.notify`` records their
    card "app not linked"), the rule's problems and the app's "people not linked yet" use it."""
    people = list(people)
    linked = set(
        LinkedAccount.objects.filter(app=app, user__in=[u.pk for u in people]).values_list(
            "user_id", flat=True
        )
    )
    return [user for user in people if user.pk not in linked]


def people_targeted_through(app: FeishuApp) -> list[Any]:
    """Everyone an escalation rule delivering through ``app`` would notify (for the admin's
    list of people who still have to link their account)."""
    people: dict[int, Any] = {}
    rules = (
        EscalationRule.objects.filter(enabled=True)
        .select_related("feishu_delivery__app")
        .prefetch_related("levels")
    )
    default_app = default_delivering_app()
    for rule in rules:
        delivering = delivering_app(rule, default_app)
        if delivering is None or delivering.pk != app.pk:
            continue
        for level in rule.levels.all():
            people.update((user.pk, user) for user in level.recipients())
    return sorted(people.values(), key=lambda user: display_name(user).lower())


# --- Fields for the API and the admin -------------------------------------------------------------


class _WarRoomField(serializers.ChoiceField):
    def get_attribute(self, rule: EscalationRule) -> str:
        return war_room_option(rule)


def _set_level_chats(level: EscalationLevel, chats: Sequence[FeishuChat]) -> None:
    level.feishu_chats.set(chats)


class FeishuTargets(AppAndGroupTargets):
    """``oncall.platforms.TargetFields`` for Feishu: ``feishu_app`` and ``feishu_war_room`` on a
    rule, ``chats`` on a level. API values and admin form values are the same model instances."""

    rule_field = RULE_APP
    level_field = LEVEL_CHATS
    api_app_help = "Id of the Feishu app that delivers the cards. Null: the only enabled app."
    api_groups_help = "Feishu chat ids (see /api/v1/feishu-chats/), of the rule's Feishu app."
    form_app_label = _("Feishu app")
    form_app_help = _(
        "The Feishu app that delivers this rule's cards. Empty: the only enabled "
        "app, when exactly one exists."
    )
    form_groups_label = _("Feishu chats")
    form_groups_help = _("Feishu group chats of the rule's Feishu app.")

    apps = staticmethod(FeishuApp.objects.all)
    choosable_groups = staticmethod(standing_chats)
    chosen_app = staticmethod(chosen_app)
    choose_app = staticmethod(choose_app)
    default_delivering_app = staticmethod(default_delivering_app)
    read_level_groups = staticmethod(level_chats)
    write_level_groups = staticmethod(_set_level_chats)

    def foreign_groups_error(self, names: str, app: FeishuApp) -> str:
        return _("%(chats)s belong to another Feishu app than %(app)s.") % {
            "chats": names,
            "app": app,
        }

    def extra_rule_fields(self) -> dict[str, serializers.Field]:
        return {
            RULE_WAR_ROOM: _WarRoomField(
                choices=AutoWarRoom.choices,
                required=False,
                allow_blank=True,
                help_text='Open a Feishu war room with the rule\'s first notification: "critical"'
                ', "warning" (critical and warning), "always", or "" (never). Needs an '
                "app with war rooms enabled.",
            ),
        }

    def extra_rule_form_fields(self, rule: EscalationRule | None) -> dict[str, forms.Field]:
        return {
            RULE_WAR_ROOM: forms.ChoiceField(
                choices=AutoWarRoom.choices,
                required=False,
                initial=war_room_option(rule) if rule is not None and rule.pk else "",
                label=_("Open a war room"),
                help_text=_(
                    "Open a Feishu group chat for the incident with the rule's first "
                    "notification (the Feishu app must have war rooms enabled)."
                ),
            ),
        }

    def save_extra(self, rule: EscalationRule, rule_values: dict[str, Any]) -> None:
        if RULE_WAR_ROOM in rule_values and war_room_option(rule) != rule_values[RULE_WAR_ROOM]:
            choose_war_room_option(rule, rule_values[RULE_WAR_ROOM] or "")
