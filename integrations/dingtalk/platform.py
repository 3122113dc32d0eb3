"""DingTalk as a chat platform of the console (``oncall.platforms.ChatPlatform``): the one object
the core reaches DingTalk through, listed in ``settings.CHAT_PLATFORMS``.

It contributes the app's pages (sign-in, event subscription and card callback URLs), its REST
resources, the receipts' sweep, "My account"'s linked DingTalk accounts, and incident cards: to
people (the app bot's one-to-one chats, by their DingTalk userId) and to the groups where the
cool app is installed (a level's targets), kept current on every change. The rest answers as
``PlatformBase`` does.

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

from integrations.dingtalk import PLATFORM_NAME
from integrations.dingtalk.timeline_words import TIMELINE_MESSAGES, unreachable
from oncall.batch_answers import kept
from oncall.platforms import (
    AppStatus,
    FailedNotifications,
    LevelReport,
    PlatformBase,
    TargetFields,
    app_statuses,
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

TASKS = "integrations.dingtalk.tasks"


class DingTalkPlatform(PlatformBase):
    name = PLATFORM_NAME
    label = gettext_lazy("DingTalk")
    timeline_messages = TIMELINE_MESSAGES

    @cached_property
    def targets(self) -> TargetFields:  # type: ignore[override]
        from integrations.dingtalk.escalation_targets import DingTalkTargets

        return DingTalkTargets()

    def template_media(self) -> list[Medium]:
        from integrations.dingtalk.cards.body import DINGTALK_CARD

        return [DINGTALK_CARD]

    # --- Escalation ------------------------------------------------------------------------

    def notify(
        self, incident: Incident, rule: EscalationRule, level: EscalationLevel, people: list[Any]
    ) -> LevelReport:
        """A card for each of the level's people who have a DingTalk userId in the rule's app
        and each of the level's groups. People not linked to the app are reported ("app not
        linked", on the timeline with the app's sign-in) only when the rule uses DingTalk (an
        app chosen, or groups), so that a Feishu-only console does not read "unreachable in
        DingTalk" for everyone."""
        from integrations.dingtalk import escalation_targets, presence, war_rooms
        from integrations.dingtalk.cards import delivery

        if not presence.has_apps():  # no app: no group, no linked person, nothing to send
            return LevelReport()
        # Asked once per batch of steps (``oncall.batch_answers``), else each time.
        groups = kept(level, "dingtalk.groups", lambda: escalation_targets.level_groups(level))
        app = kept(rule, "dingtalk.app", lambda: escalation_targets.delivering_app(rule))
        if app is None:
            names = [str(g) for g in groups]
            if names:
                notifications_failed(self.name, "no_app", len(names))
            return LevelReport([], [unreachable("no_app_for_rule", n) for n in names])
        uses_dingtalk = bool(groups) or escalation_targets.chosen_app(rule) is not None
        # Linked people are DingTalk's to report on, a missing userid too ("no DingTalk userId").
        linked = kept(
            level,
            ("dingtalk.linked", app.pk, tuple(u.pk for u in people)),
            lambda: escalation_targets.linked_user_ids(app, people),
        )
        recipients = people if uses_dingtalk else [u for u in people if u.pk in linked]
        if not recipients and not groups:
            return LevelReport()
        outcome = delivery.notify(incident, app, recipients, groups)
        missed = set(outcome.unreachable)
        # A war room already open takes the newly notified (none while no app has a template).
        war_rooms.invite_newly_notified(
            incident, app, [u for u in recipients if person_name(u) not in missed]
        )
        names = [person_name(u) for u in recipients] + [str(g) for g in groups]
        return LevelReport(
            [n for n in names if n not in missed],
            outcome.unreachable,
            [u.pk for u in recipients if person_name(u) not in missed],
        )

    def notify_people(self, incident: Incident, people: list[Any], reason: str) -> LevelReport:
        """The incident's card to each of ``people`` who has a DingTalk userId in the app that
        delivers the incident's rule (else the only enabled app); the others are left to the
        other platforms."""
        from integrations.dingtalk import escalation_targets
        from integrations.dingtalk.cards import delivery
        from oncall.timeline import display_name

        app = escalation_targets.delivering_app(incident.escalation_rule)
        if app is None:
            return LevelReport()
        known = escalation_targets.user_ids(app, people)
        reachable = [u for u in people if u.pk in known]
        if reachable:
            delivery.notify(incident, app, reachable, [])
        return LevelReport([display_name(u) for u in reachable], [], [u.pk for u in reachable])

    def incident_changed(self, incident_id: int, kind: str, incident: Incident | None) -> None:
        from integrations.dingtalk.cards import delivery

        delivery.follow_change(incident_id, kind)

    def rule_problems(self, rule: EscalationRule, memo: dict[str, Any] | None = None) -> list[str]:
        from integrations.dingtalk import escalation_targets

        if memo is None:
            return escalation_targets.rule_problems(rule)
        if "dingtalk_default_app" not in memo:
            memo["dingtalk_default_app"] = escalation_targets.default_delivering_app()
        return escalation_targets.rule_problems(rule, memo["dingtalk_default_app"])

    def level_target_names(self, level: EscalationLevel) -> list[str]:
        from integrations.dingtalk import escalation_targets

        return [str(group) for group in escalation_targets.level_groups(level)]

    def prefetch_rules(self, rules: QuerySet[EscalationRule]) -> QuerySet[EscalationRule]:
        return rules.select_related("dingtalk_delivery__app").prefetch_related(
            "levels__dingtalk_targets__group"
        )

    def rule_facts(self, rules: Sequence[EscalationRule]) -> dict[int, list[tuple[str, str]]]:
        from django.utils.translation import gettext

        from integrations.dingtalk import escalation_targets

        chosen = {rule.pk: escalation_targets.chosen_app(rule) for rule in rules}
        return {pk: [(gettext("DingTalk app"), app.name)] for pk, app in chosen.items() if app}

    def incident_section(self, request: HttpRequest, incident: Incident) -> Section | None:
        """Whom the incident's DingTalk cards reached, and what failed."""
        from integrations.dingtalk.models import DingTalkCardDelivery
        from oncall.sections import Section

        deliveries = list(
            DingTalkCardDelivery.objects.filter(incident=incident)
            .select_related("app", "user", "group")
            .order_by("created_at", "pk")
        )
        if not deliveries:
            return None
        return Section("dingtalk/_incident_deliveries.html", {"deliveries": deliveries})

    def incident_admin_inlines(self) -> list[type[InlineModelAdmin]]:
        from integrations.dingtalk.admin_cards import DingTalkCardDeliveryInline

        return [DingTalkCardDeliveryInline]

    def card_task_names(self) -> frozenset[str]:
        return frozenset({f"{TASKS}.send_card", f"{TASKS}.sync_cards"})

    def url_patterns(self) -> list[URLPattern | URLResolver]:
        patterns: list[URLPattern | URLResolver] = [
            path("dingtalk/", include("integrations.dingtalk.urls")),
        ]
        if apps.is_installed("integrations.dingtalk_sandbox"):
            patterns.append(
                path("sandbox/dingtalk/", include("integrations.dingtalk_sandbox.urls"))
            )
        return patterns

    def register_api(self, router: BaseRouter) -> None:
        from integrations.dingtalk import rest_api

        rest_api.register(router)

    def account_section(self, request: HttpRequest) -> Section | None:
        from integrations.dingtalk.oauth import account_page

        return account_page.section(request)

    def admin_apps(self, user: Any) -> list[AppStatus]:
        from integrations.dingtalk.models import DingTalkApp

        return app_statuses(user, DingTalkApp.objects.order_by("name", "pk"))

    def failed_notifications(self, user: Any, limit: int) -> FailedNotifications:
        from integrations.dingtalk.admin_cards import failed_notifications

        return failed_notifications(user, limit)

    def linked_people(self) -> QuerySet:
        from integrations.dingtalk.models import DingTalkAccount

        # A link without a userid reaches nobody (one-to-one cards need it): not linked yet.
        return DingTalkAccount.objects.exclude(dingtalk_user_id="").values("user_id")

    def offer_providers(self) -> Sequence[OfferProvider]:
        """War rooms (``war_rooms.WarRoomOffers``): no query while no app has a group
        template."""
        return self._offer_providers

    @cached_property
    def _offer_providers(self) -> tuple[OfferProvider, ...]:
        from integrations.dingtalk.war_rooms import WarRoomOffers

        return (WarRoomOffers(),)

    def periodic_tasks(self) -> dict[str, dict[str, Any]]:
        return {
            "open-stalled-dingtalk-war-rooms": {
                "task": f"{TASKS}.open_stalled_war_rooms",
                "schedule": 60.0,
            },
            "resend-lost-dingtalk-cards": {
                "task": f"{TASKS}.resend_stalled_cards",
                "schedule": 30.0,
            },
            "purge-dingtalk-event-receipts": {
                "task": f"{TASKS}.purge_event_receipts",
                "schedule": crontab(minute=37, hour=3),
            },
        }
