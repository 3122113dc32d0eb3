"""DingTalk's part of escalation rules and levels (``oncall.platforms.TargetFields``): which
app delivers a rule's cards (``dingtalk_app``) and each level's groups (``dingtalk_groups``),
the groups where the app's cool app is installed.

A rule without a chosen app is delivered by the only enabled app, when there is exactly one.
A group whose cool app was uninstalled stays a target, shown as broken (``rule_problems``), so
that the admin sees why it gets nothing; it cannot be chosen anew.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations.chatkit import targets
from integrations.chatkit.targets import AppAndGroupTargets
from integrations.dingtalk.models import (
    DingTalkAccount,
    DingTalkApp,
    DingTalkGroup,
    DingTalkLevelGroup,
    DingTalkRuleApp,
)
from oncall.models import EscalationLevel, EscalationRule
from oncall.timeline import display_name

RULE_APP = "dingtalk_app"
LEVEL_GROUPS = "dingtalk_groups"
LOOK_UP: Any = object()


# --- Storage ------------------------------------------------------------------------------------


def chosen_app(rule: EscalationRule) -> DingTalkApp | None:
    try:
        return rule.dingtalk_delivery.app
    except ObjectDoesNotExist:
        return None


def choose_app(rule: EscalationRule, app: DingTalkApp | None) -> None:
    if app is None:
        DingTalkRuleApp.objects.filter(rule=rule).delete()
    else:
        DingTalkRuleApp.objects.update_or_create(rule=rule, defaults={"app": app})
    rule._state.fields_cache.pop("dingtalk_delivery", None)


def default_delivering_app() -> DingTalkApp | None:
    apps = list(DingTalkApp.objects.filter(enabled=True)[:2])
    return apps[0] if len(apps) == 1 else None


def delivering_app(rule: EscalationRule | None, default_app: Any = LOOK_UP) -> DingTalkApp | None:
    if (
        rule is not None
        and default_app is LOOK_UP
        and not EscalationRule.dingtalk_delivery.is_cached(rule)
    ):
        # One query; it keeps the choice on the rule (``chosen_app`` asks next, for free).
        return targets.delivering_app(
            rule, DingTalkApp.objects.all(), DingTalkRuleApp, "dingtalk_delivery"
        )
    app = chosen_app(rule) if rule is not None else None
    if app is not None:
        return app
    return default_delivering_app() if default_app is LOOK_UP else default_app


def level_groups(level: EscalationLevel) -> list[DingTalkGroup]:
    """The level's groups (a prefetch of ``dingtalk_targets__group`` is used when made)."""
    return [target.group for target in level.dingtalk_targets.all()]


def set_level_groups(level: EscalationLevel, groups: Iterable[DingTalkGroup]) -> None:
    wanted = {group.pk for group in groups}
    DingTalkLevelGroup.objects.filter(level=level).exclude(group__in=wanted).delete()
    DingTalkLevelGroup.objects.bulk_create(
        [DingTalkLevelGroup(level=level, group_id=pk) for pk in wanted], ignore_conflicts=True
    )


def linked_user_ids(app: DingTalkApp, people: Iterable[Any]) -> dict[int, str]:
    """Each person linked to ``app``, by user pk: their DingTalk userId in the app's
    organisation, blank when they linked without one (those not linked are missing)."""
    linked = DingTalkAccount.objects.filter(app=app, user__in=[u.pk for u in people])
    return dict(linked.values_list("user_id", "dingtalk_user_id"))


def user_ids(app: DingTalkApp, people: Iterable[Any]) -> dict[int, str]:
    """Each person's DingTalk userId in ``app``'s organisation, by user pk (those without a
    linked account, or linked without a userid, are missing): whom a one-to-one card reaches."""
    return {pk: user_id for pk, user_id in linked_user_ids(app, people).items() if user_id}


def rule_problems(rule: EscalationRule, default_app: Any = LOOK_UP) -> list[str]:
    """Why some DingTalk targets of the rule won't receive anything, in words for admins."""
    levels = sorted(rule.levels.all(), key=lambda level: (level.position, level.pk))
    targeted = [(number, level_groups(level)) for number, level in enumerate(levels, start=1)]
    if not any(groups for _, groups in targeted):
        return []  # the rule does not use DingTalk groups: nothing of DingTalk's to report
    app = delivering_app(rule, default_app)
    problems = []
    if app is None:
        problems.append(
            gettext(
                "No DingTalk app is chosen and there is not exactly one enabled app: choose "
                "the app that delivers this rule's cards."
            )
        )
    elif not app.enabled:
        problems.append(gettext("The DingTalk app %(app)s is disabled.") % {"app": app})
    for number, groups in targeted:
        for group in groups:
            if not group.usable:
                problems.append(
                    gettext(
                        "Level %(n)s: DingTalk group %(group)s (the cool app was uninstalled: "
                        "install it in the group again)."
                    )
                    % {"n": number, "group": group}
                )
            elif app is not None and group.app_id != app.pk:
                problems.append(
                    gettext("Level %(n)s: DingTalk group %(group)s belongs to another app.")
                    % {"n": number, "group": group}
                )
    return problems


def unreachable_names(app: DingTalkApp, people: Sequence[Any]) -> list[str]:
    known = user_ids(app, people)
    return [display_name(user) for user in people if user.pk not in known]


# --- Fields for the API and the admin -------------------------------------------------------------


def _choosable_groups() -> Any:
    return DingTalkGroup.objects.filter(status=DingTalkGroup.Status.ACTIVE)


class DingTalkTargets(AppAndGroupTargets):
    """``oncall.platforms.TargetFields`` for DingTalk."""

    rule_field = RULE_APP
    level_field = LEVEL_GROUPS
    api_app_help = "Id of the DingTalk app that delivers the cards. Null: the only enabled app."
    api_groups_help = "DingTalk group ids (groups where the app's cool app is installed)."
    form_app_label = _("DingTalk app")
    form_app_help = _(
        "The DingTalk app that delivers this rule's cards. Empty: the only enabled "
        "app, when exactly one exists."
    )
    form_groups_label = _("DingTalk groups")
    form_groups_help = _("Groups where the rule's DingTalk app has its cool app installed.")

    apps = staticmethod(DingTalkApp.objects.all)
    choosable_groups = staticmethod(_choosable_groups)
    chosen_app = staticmethod(chosen_app)
    choose_app = staticmethod(choose_app)
    default_delivering_app = staticmethod(default_delivering_app)
    read_level_groups = staticmethod(level_groups)
    write_level_groups = staticmethod(set_level_groups)

    def foreign_groups_error(self, names: str, app: DingTalkApp) -> str:
        return _("%(groups)s belong to another DingTalk app than %(app)s.") % {
            "groups": names,
            "app": app,
        }
