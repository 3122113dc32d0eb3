"""Feishu / Lark as a chat platform of the console (``oncall.platforms.ChatPlatform``): the one
object the core reaches Feishu through, listed in ``settings.CHAT_PLATFORMS``.

Everything is imported when asked for: the registry builds this class while Django starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from celery.schedules import crontab
from django.apps import apps
from django.urls import include, path
from django.utils.translation import gettext_lazy

from integrations.feishu import PLATFORM_NAME
from integrations.feishu.timeline_words import TIMELINE_MESSAGES
from integrations.feishu.timeline_words import unreachable as not_reached
from oncall.batch_answers import kept
from oncall.platforms import (
    AppStatus,
    FailedNotifications,
    LevelReport,
    PlatformBase,
    TargetFields,
    notifications_failed,
    person_name,
)

if TYPE_CHECKING:
    from django.contrib.admin.options import InlineModelAdmin
    from django.db.models import QuerySet
    from django.http import HttpRequest
    from django.urls import URLPattern, URLResolver
    from rest_framework.routers import BaseRouter

    from oncall.models import EscalationLevel, EscalationRule, Incident
    from oncall.notify.engine import Medium
    from oncall.offers import OfferProvider
    from oncall.sections import Section

TASKS = "integrations.feishu.tasks"


class FeishuPlatform(PlatformBase):
    name = PLATFORM_NAME
    label = gettext_lazy("Feishu")
    timeline_messages = TIMELINE_MESSAGES

    @cached_property
    def targets(self) -> TargetFields:  # type: ignore[override]
        from integrations.feishu.escalation_targets import FeishuTargets

        return FeishuTargets()

    # --- Notification templates ---------------------------------------------------------

    def template_media(self) -> list[Medium]:
        from integrations.feishu.cards.body import FEISHU_CARD

        return [FEISHU_CARD]

    # --- Escalation ------------------------------------------------------------------------

    def notify(
        self, incident: Incident, rule: EscalationRule, level: EscalationLevel, people: list[Any]
    ) -> LevelReport:
        """One more card for each of the level's people (through their linked accounts) and
        chats, through the app that delivers the rule."""
        from integrations.feishu import escalation_targets
        from integrations.feishu.cards import delivery

        # Asked once per batch of steps (``oncall.batch_answers``), else each time.
        chats = kept(level, "feishu.chats", lambda: escalation_targets.level_chats(level))
        names = [person_name(u) for u in people] + [str(c) for c in chats]
        app = kept(rule, "feishu.app", lambda: escalation_targets.delivering_app(rule))
        if app is None:
            if names:
                notifications_failed(self.name, "no_app", len(names))
            return LevelReport([], [not_reached("no_app_on_rule", n) for n in names])
        outcome = delivery.notify(incident, app, people, chats)
        unreachable = set(outcome.unreachable)
        reached = [u for u in people if person_name(u) not in unreachable]
        _follow_war_room(incident, rule, app, reached)
        return LevelReport(
            [n for n in names if n not in unreachable],
            outcome.unreachable,
            [u.pk for u in reached],
        )

    def notify_people(self, incident: Incident, people: list[Any], reason: str) -> LevelReport:
        """The incident's card to each person's linked account, through the app that delivers
        the incident's rule (else the only enabled app): the card itself says whom it is
        assigned to, so ``reason`` needs no message of its own."""
        from integrations.feishu import escalation_targets
        from integrations.feishu.cards import delivery
        from oncall.timeline import display_name

        names = [display_name(user) for user in people]
        rule = incident.escalation_rule
        app = (
            escalation_targets.delivering_app(rule)
            if rule is not None
            else escalation_targets.default_delivering_app()
        )
        if app is None:
            if names:
                notifications_failed(self.name, "no_app", len(names))
            return LevelReport([], [not_reached("no_app_for_incident", n) for n in names])
        outcome = delivery.notify(incident, app, people, [])
        unreachable = set(outcome.unreachable)
        return LevelReport(
            [n for n in names if n not in unreachable],
            [not_reached("not_linked", n, app=str(app)) for n in outcome.unreachable],
            [u.pk for u in people if display_name(u) not in unreachable],
        )

    def incident_changed(self, incident_id: int, kind: str, incident: Incident | None) -> None:
        from integrations.feishu.cards import delivery

        delivery.follow_change(incident_id, kind)

    def send_notice(self, people: list[Any], text: str, *, key: str) -> LevelReport:
        """A direct message to each person's linked account (in the only enabled app when
        they have several, else the first they linked), sent by a task after commit."""
        from integrations.feishu import notices

        return notices.send(people, text, key)

    def rule_problems(self, rule: EscalationRule, memo: dict[str, Any] | None = None) -> list[str]:
        from integrations.feishu import escalation_targets

        if memo is None:
            return escalation_targets.rule_problems(rule)
        # One look-up of "the only enabled app" per answer, not one per rule.
        if "feishu_default_app" not in memo:
            memo["feishu_default_app"] = escalation_targets.default_delivering_app()
        return escalation_targets.rule_problems(rule, memo["feishu_default_app"])

    def level_target_names(self, level: EscalationLevel) -> list[str]:
        from integrations.feishu import escalation_targets

        return [str(chat) for chat in escalation_targets.level_chats(level)]

    def prefetch_rules(self, rules: QuerySet[EscalationRule]) -> QuerySet[EscalationRule]:
        return rules.select_related("feishu_delivery__app", "feishu_war_room").prefetch_related(
            "levels__feishu_chats"
        )

    def rule_facts(self, rules: Sequence[EscalationRule]) -> dict[int, list[tuple[str, str]]]:
        from django.utils.translation import gettext

        from integrations.feishu import escalation_targets

        # ``prefetch_rules`` joined the chosen apps: no query here.
        chosen = {rule.pk: escalation_targets.chosen_app(rule) for rule in rules}
        return {pk: [(gettext("Feishu app"), app.name)] for pk, app in chosen.items() if app}

    # --- The admin's home page -----------------------------------------------------------

    def admin_apps(self, user: Any) -> list[AppStatus]:
        from integrations.feishu.models import FeishuApp
        from oncall.platforms import app_statuses

        return app_statuses(user, FeishuApp.objects.order_by("name", "pk"))

    def failed_notifications(self, user: Any, limit: int) -> FailedNotifications:
        from integrations.feishu.admin.deliveries import failed_notifications

        return failed_notifications(user, limit)

    def linked_people(self) -> QuerySet:
        from integrations.feishu.models import LinkedAccount

        return LinkedAccount.objects.values("user_id")

    # --- Surfaces ---------------------------------------------------------------------------

    def url_patterns(self) -> list[URLPattern | URLResolver]:
        from integrations.feishu.oauth.account_page import linked_accounts

        patterns: list[URLPattern | URLResolver] = [
            path("account/feishu/", linked_accounts, name="account-feishu"),
            path("feishu/", include("integrations.feishu.urls")),
        ]
        if apps.is_installed("integrations.feishu_sandbox"):
            patterns.append(path("sandbox/feishu/", include("integrations.feishu_sandbox.urls")))
            # The same Open API at the host's root: the origin the official SDK accepts.
            patterns.append(path("", include("integrations.feishu_sandbox.origin_urls")))
        return patterns

    def register_api(self, router: BaseRouter) -> None:
        from integrations.feishu import rest_api

        rest_api.register(router)

    def incident_admin_inlines(self) -> list[type[InlineModelAdmin]]:
        from integrations.feishu.admin import CardDeliveryInline

        return [CardDeliveryInline]

    def incident_section(self, request: HttpRequest, incident: Incident) -> Section | None:
        from integrations.feishu import pages

        return pages.incident_deliveries(request, incident)

    def account_section(self, request: HttpRequest) -> Section | None:
        from integrations.feishu import pages

        return pages.linked_accounts_summary(request)

    def login_section(self, request: HttpRequest) -> Section | None:
        from integrations.feishu import pages

        return pages.sign_in_buttons(request)

    def offer_providers(self) -> Sequence[OfferProvider]:
        """War rooms: "Open a war room", then the link into it (no query while no app has
        war rooms on)."""
        return self._offer_providers

    @cached_property
    def _offer_providers(self) -> tuple[OfferProvider, ...]:
        from integrations.feishu.war_rooms import WarRoomOffers

        return (WarRoomOffers(),)

    # --- Celery -----------------------------------------------------------------------------

    def periodic_tasks(self) -> dict[str, dict[str, Any]]:
        return {
            "sync-feishu-chats": {
                "task": f"{TASKS}.sync_all_chats",
                "schedule": 60.0,  # each app is synced when FEISHU_CHAT_SYNC_MINUTES have passed
            },
            "resend-lost-feishu-cards": {
                "task": f"{TASKS}.resend_stalled_cards",
                "schedule": 30.0,
            },
            "purge-feishu-callback-receipts": {
                "task": f"{TASKS}.purge_callback_receipts",
                "schedule": crontab(minute=27, hour=3),
            },
            "purge-rate-limit-windows": {
                "task": f"{TASKS}.purge_rate_windows",
                "schedule": crontab(minute=7),
            },
            "open-stalled-war-rooms": {
                "task": f"{TASKS}.hand_out_stalled_war_rooms",
                "schedule": 60.0,
            },
        }

    def card_task_names(self) -> frozenset[str]:
        return frozenset(
            {
                f"{TASKS}.send_cards",
                f"{TASKS}.send_card",
                f"{TASKS}.sync_cards",
                f"{TASKS}.send_notice",
            }
        )


def _follow_war_room(
    incident: Incident, rule: EscalationRule, app: Any, reached: list[Any]
) -> None:
    """A rule's notification opens the incident's war room when the rule says so, and people
    a later level reaches are invited to a room already open."""
    from integrations.feishu import war_rooms

    if war_rooms.open_for_rule(incident, rule, app) is None:
        war_rooms.invite_newly_notified(incident, app, reached)
