"""The chat-platform contract and its registry: how the core speaks to Feishu, DingTalk, ...

The core never imports a platform. ``settings.CHAT_PLATFORMS`` lists the installed platforms by
dotted path (one class each, built without arguments); :func:`platforms` returns them in that
order. Everything a platform adds to the console goes through :class:`ChatPlatform`:

* escalation asks it to notify a level (``notify``) and tells it about every incident change
  (``incident_changed``), so that it updates every copy of the card it sent;
* the lifecycle asks it to notify given people outside any level (``notify_people``): the
  person an incident is assigned to, the people paged when someone opens one by hand;
* schedules ask it to give people a notice in words (``send_notice``: "You are on call for SRE
  primary from 18:00");
* the admin, the REST API, the responder pages, the URLconf and Celery (beat and queues) ask it
  for what it contributes (admin inlines, API routes, page sections, URL patterns, periodic
  tasks, the task names that belong on the cards queue);
* the incident's offers (``oncall.offers``) ask it for its providers (``offer_providers``: Feishu's
  war rooms), shown and run like the core's own;
* the admin's home page asks it for its apps with their last check (``admin_apps``), the
  notifications it could not deliver (``failed_notifications``) and who has linked an account
  with it (``linked_people``);
* it reports what became of its notifications and card clicks (``notifications_sent``,
  ``notifications_failed``, ``counts_card_callbacks``, ...), which ``/metrics`` counts;
* an escalation rule's and level's platform targets (which app delivers, group chats) live in
  the platform's own models, pointing at the core's rows; the API and admin reach them through
  :class:`TargetFields`.

:class:`PlatformBase` gives every method a neutral answer, so a platform overrides only what
it has.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, wraps
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from oncall import metrics
from oncall.timeline_messages import Phrase, people, phrase, worded

if TYPE_CHECKING:
    from django import forms
    from django.contrib.admin.options import InlineModelAdmin
    from django.db.models import QuerySet
    from django.http import HttpRequest, HttpResponse
    from django.urls import URLPattern, URLResolver
    from rest_framework import serializers
    from rest_framework.routers import BaseRouter

    from oncall.models import EscalationLevel, EscalationRule, Incident
    from oncall.notify.engine import Medium
    from oncall.offers import OfferProvider
    from oncall.sections import Section

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LevelReport:
    """What a platform did for one escalation level (or one notice): whom it notified (people
    and its own targets, by name) and who could not be reached, each with the reason in
    words; and the ids of the people it reached (``reached``), by which insights count each
    person's notifications (names are for reading, not for counting)."""

    notified: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    reached: list[int] = field(default_factory=list)

    @classmethod
    def combine(cls, reports: Iterable[LevelReport]) -> LevelReport:
        notified: list[str] = []
        unreachable: list[str] = []
        reached: list[int] = []
        for report in reports:
            notified.extend(n for n in report.notified if n not in notified)
            unreachable.extend(u for u in report.unreachable if u not in unreachable)
            reached.extend(pk for pk in report.reached if pk not in reached)
        return cls(notified, unreachable, reached)


@dataclass(frozen=True)
class AppStatus:
    """One of a platform's apps as the admin's home page lists it: its last "check
    configuration" (``ok`` is None before any check) and the admin page that checks it."""

    name: str
    enabled: bool
    checked_at: datetime | None
    ok: bool | None
    message: str
    url: str


@dataclass(frozen=True)
class FailedNotification:
    """A notification that will not arrive: to whom, about which incident, and why."""

    incident_id: int
    incident_number: int
    incident_title: str
    recipient: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class FailedNotifications:
    """How many notifications a platform could not deliver, the newest of them, and the
    admin list that shows them all (empty when the reader may not see it)."""

    total: int = 0
    newest: list[FailedNotification] = field(default_factory=list)
    url: str = ""


class TargetFields(Protocol):
    """A platform's part of an escalation rule and its levels, for the REST API and the admin
    (e.g. Feishu: the app that delivers the rule's cards, and each level's group chats).

    ``rule_fields`` / ``level_fields`` are DRF fields and ``*_form_fields`` the admin's form
    fields, under the same names and with the same values (model instances), which arrive in
    ``validate`` and ``save`` under those names. A name missing from ``rule_values`` means
    "unchanged"."""

    def rule_fields(self) -> dict[str, serializers.Field]: ...

    def level_fields(self) -> dict[str, serializers.Field]: ...

    def rule_form_fields(self, rule: EscalationRule | None) -> dict[str, forms.Field]:
        """The admin's form fields, named as the API's, with ``rule``'s values as initial."""
        ...

    def level_form_fields(self, level: EscalationLevel | None) -> dict[str, forms.Field]: ...

    def level_has_targets(self, level_values: dict[str, Any]) -> bool:
        """Whether ``level_values`` (this platform's part of one level) names a target."""
        ...

    def validate(
        self, rule: EscalationRule, rule_values: dict[str, Any], levels: list[dict[str, Any]]
    ) -> dict[int | str, Any]:
        """Errors, keyed by a rule field's name or a level's index (then a dict of errors)."""
        ...

    def save(
        self,
        rule: EscalationRule,
        rule_values: dict[str, Any],
        levels: Sequence[tuple[EscalationLevel, dict[str, Any]]],
    ) -> None: ...


@runtime_checkable
class ChatPlatform(Protocol):
    """One chat platform. ``name`` is its key in the registry and the timeline's source for the
    actions people take through it ("feishu"); ``label`` names it for people."""

    name: str
    label: str
    targets: TargetFields | None
    #: The platform's own timeline message kinds (``oncall.timeline_messages``), each key
    #: starting with the platform's ``name`` and a dot ("feishu.not_linked").
    timeline_messages: Mapping[str, Any]

    # --- Escalation ------------------------------------------------------------------------

    def notify(
        self, incident: Incident, rule: EscalationRule, level: EscalationLevel, people: list[Any]
    ) -> LevelReport:
        """Deliver one level's notification, inside the escalation step's transaction (slow
        work goes to tasks queued on commit). ``people`` are the level's active recipients,
        resolved once by the core (its users, its schedules' on-call, the channel's members);
        the platform reports on them, named with :func:`person_name` (which says why a
        schedule reached them), and on its own targets."""
        ...

    def notify_people(self, incident: Incident, people: list[Any], reason: str) -> LevelReport:
        """Notify ``people`` (active users, resolved by the core) about ``incident`` now,
        outside any escalation level: an assignment, or the people paged when an incident is
        opened by hand. Inside the caller's transaction, like ``notify``. ``reason`` says why,
        in words ("Assigned to you by Alice"), for a platform whose message can carry it.
        Reports each person it reached by name, and each it could not as "name (reason)"."""
        ...

    def incident_changed(self, incident_id: int, kind: str, incident: Incident | None) -> None:
        """After a committed change (any surface): refresh every copy of what was sent."""
        ...

    def send_notice(self, people: list[Any], text: str, *, key: str) -> LevelReport:
        """Send ``text`` (plain words, not about an incident: e.g. a shift about to start) to
        each of ``people`` directly, e.g. a direct message to their linked account. Called
        inside a transaction: the sending goes to tasks queued on commit, retried like the
        platform's other sends. ``key`` is unique to this notice and the same if it is ever
        asked for again, so that a retried send posts once. Reports whom it will reach and
        who cannot be reached, and why (named with :func:`person_name`); a platform that has
        no way to reach a person leaves them out of both."""
        ...

    def rule_problems(self, rule: EscalationRule, memo: dict[str, Any] | None = None) -> list[str]:
        """Why some of the rule's targets won't receive anything, in words for admins.
        ``memo`` is kept by a caller that asks about many rules in one answer, for look-ups
        that are the same for all of them."""
        ...

    def level_target_names(self, level: EscalationLevel) -> list[str]:
        """The level's targets on this platform (its chats), for one-line descriptions."""
        ...

    def prefetch_rules(self, rules: QuerySet[EscalationRule]) -> QuerySet[EscalationRule]:
        """``rules`` with what this platform reads of each rule and its levels prefetched
        (``rule_problems``, ``level_target_names``, the API's fields), for lists."""
        ...

    def rule_facts(self, rules: Sequence[EscalationRule]) -> dict[int, list[tuple[str, str]]]:
        """(label, value) pairs the channel page shows for each rule, by the rule's pk (e.g.
        its Feishu app); for every rule of the page at once, in a fixed number of queries."""
        ...

    # --- The admin's home page -----------------------------------------------------------

    def admin_apps(self, user: Any) -> list[AppStatus]:
        """The platform's apps with their last check, for an admin who may see them (else
        none), in one query."""
        ...

    def failed_notifications(self, user: Any, limit: int) -> FailedNotifications:
        """The notifications it gave up on (not linked, bot not in the chat, errors), the
        ``limit`` newest of them, for an admin who may see them; a fixed number of queries."""
        ...

    def linked_people(self) -> QuerySet | None:
        """The ids of the users who linked an account with this platform (a ``values``
        query the core combines, not evaluated here), or None when it links nobody."""
        ...

    # --- Notification templates ---------------------------------------------------------

    def template_media(self) -> list[Medium]:
        """The media this platform renders notification templates for (a card body), each
        with its escaping, size limit and built-in default (``oncall.notify``). The platform
        adds its header, status and buttons around the rendered body, so no template can
        remove or break them."""
        ...

    # --- Surfaces ---------------------------------------------------------------------------

    def url_patterns(self) -> list[URLPattern | URLResolver]: ...

    def register_api(self, router: BaseRouter) -> None: ...

    def incident_admin_inlines(self) -> list[type[InlineModelAdmin]]: ...

    def incident_section(self, request: HttpRequest, incident: Incident) -> Section | None: ...

    def account_section(self, request: HttpRequest) -> Section | None: ...

    def login_section(self, request: HttpRequest) -> Section | None: ...

    def offer_providers(self) -> Sequence[OfferProvider]:
        """What this platform offers on incidents beyond their lifecycle (``oncall.offers``:
        links and actions, e.g. a war room), after the providers of
        ``settings.INCIDENT_OFFERS``. Asked on every page, card and API answer: a provider
        with nothing to offer should find that out without a query."""
        ...

    # --- Celery -----------------------------------------------------------------------------

    def periodic_tasks(self) -> dict[str, dict[str, Any]]:
        """Celery beat entries (name -> {"task", "schedule"}), merged into the console's."""
        ...

    def card_task_names(self) -> frozenset[str]:
        """Tasks that send or update cards: routed to ``CELERY_CARDS_QUEUE``."""
        ...


class PlatformBase:
    """Neutral answers for every part of :class:`ChatPlatform` a platform does not have."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    targets: TargetFields | None = None
    timeline_messages: Mapping[str, Any] = MappingProxyType({})

    def notify(
        self, incident: Incident, rule: EscalationRule, level: EscalationLevel, people: list[Any]
    ) -> LevelReport:
        return LevelReport()

    def notify_people(self, incident: Incident, people: list[Any], reason: str) -> LevelReport:
        return LevelReport()

    def incident_changed(self, incident_id: int, kind: str, incident: Incident | None) -> None:
        return None

    def send_notice(self, people: list[Any], text: str, *, key: str) -> LevelReport:
        return LevelReport()

    def rule_problems(self, rule: EscalationRule, memo: dict[str, Any] | None = None) -> list[str]:
        return []

    def level_target_names(self, level: EscalationLevel) -> list[str]:
        return []

    def prefetch_rules(self, rules: QuerySet[EscalationRule]) -> QuerySet[EscalationRule]:
        return rules

    def rule_facts(self, rules: Sequence[EscalationRule]) -> dict[int, list[tuple[str, str]]]:
        return {}

    def admin_apps(self, user: Any) -> list[AppStatus]:
        return []

    def failed_notifications(self, user: Any, limit: int) -> FailedNotifications:
        return FailedNotifications()

    def linked_people(self) -> QuerySet | None:
        return None

    def template_media(self) -> list[Medium]:
        return []

    def url_patterns(self) -> list[URLPattern | URLResolver]:
        return []

    def register_api(self, router: BaseRouter) -> None:
        return None

    def incident_admin_inlines(self) -> list[type[InlineModelAdmin]]:
        return []

    def incident_section(self, request: HttpRequest, incident: Incident) -> Section | None:
        return None

    def account_section(self, request: HttpRequest) -> Section | None:
        return None

    def login_section(self, request: HttpRequest) -> Section | None:
        return None

    def offer_providers(self) -> Sequence[OfferProvider]:
        return []

    def periodic_tasks(self) -> dict[str, dict[str, Any]]:
        return {}

    def card_task_names(self) -> frozenset[str]:
        return frozenset()


def person_name(user: Any) -> str:
    """How a level's report names a person: their name, and why a schedule reached them when
    one did (``Alice (on call: SRE primary)``; see ``oncall.schedules.targets``)."""
    from oncall.schedules.targets import reasons_of  # they import the models
    from oncall.timeline import display_name

    reasons = list(reasons_of(user))
    if not reasons:
        return display_name(user)
    said: Any = reasons[-1]
    for reason in reversed(reasons[:-1]):  # "on call: SRE; next on call: DB, from Mon 09:00"
        said = phrase("reached_as.more", first=reason, rest=said)
    return worded("reached_as", name=display_name(user), reasons=said)


# --- The registry ---------------------------------------------------------------------------------


def platforms() -> tuple[ChatPlatform, ...]:
    """The installed platforms, in ``settings.CHAT_PLATFORMS`` order. Read on every call and
    built once per value of the setting, so a test's settings override takes effect."""
    return _build(tuple(settings.CHAT_PLATFORMS))


@lru_cache(maxsize=8)
def _build(paths: tuple[str, ...]) -> tuple[ChatPlatform, ...]:
    built = []
    for path in paths:
        platform = import_string(path)()
        if not isinstance(platform, ChatPlatform) or not platform.name:
            raise TypeError(f"{path} does not fulfil oncall.platforms.ChatPlatform")
        built.append(platform)
    names = [p.name for p in built]
    if len(set(names)) != len(names):
        raise ValueError(f"CHAT_PLATFORMS names a platform twice: {names}")
    return tuple(built)


def platform_named(name: str) -> ChatPlatform | None:
    return next((p for p in platforms() if p.name == name), None)


def notify_people(incident: Incident, people: Sequence[Any], reason: str) -> LevelReport:
    """Every platform notifies ``people`` about ``incident`` (``ChatPlatform.notify_people``).
    Whom a platform reached is named with the platform ("Bob Li (Feishu)"); someone whom no
    platform reached nor reported on is unreachable too, so that the timeline never reads as
    if a person was told when nobody could tell them."""
    from oncall.timeline import display_name  # the timeline imports the models, which import us

    people = list(people)
    if not people:
        return LevelReport()
    reports = []
    for platform in platforms():
        report = platform.notify_people(incident, people, reason)
        reports.append(
            LevelReport(
                [
                    worded("notified.via", name=n, platform=label_phrase(platform))
                    for n in report.notified
                ],
                report.unreachable,
                report.reached,
            )
        )
    combined = LevelReport.combine(reports)
    reported = combined.notified + combined.unreachable
    silent = [
        worded("unreachable.no_platform", name=name)
        for name in map(display_name, people)
        if not any(entry == name or entry.startswith(f"{name} (") for entry in reported)
    ]
    return LevelReport(combined.notified, combined.unreachable + silent, combined.reached)


def label_phrase(platform: ChatPlatform) -> Phrase:
    """The platform's ``label`` as a phrase parameter: stored as its kind ("feishu.label"),
    so that an entry names the platform in each reader's language."""
    return Phrase(f"{platform.name}.label", {}, platform.label or platform.name)


def describe_notified(report: LevelReport) -> Phrase:
    """ "notified Bob Li (Feishu); not reachable: Carol Wang (no linked Feishu account)"."""
    notified = people(report.notified)
    if report.unreachable:
        return phrase("notified.unreachable", people=notified, unreachable=report.unreachable)
    return phrase("notified", people=notified)


def may_view(user: Any, model: Any) -> bool:
    """Whether ``user`` has the admin's view (or change) permission on ``model``."""
    from django.contrib.auth import get_permission_codename

    opts = model._meta
    return any(
        user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
        for action in ("view", "change")
    )


def app_statuses(user: Any, apps: QuerySet) -> list[AppStatus]:
    """A platform's app rows (each with ``name``, ``enabled`` and the last check's
    ``checked_at``, ``check_ok``, ``check_message``) as :class:`AppStatus`, linked to their
    admin pages; none for a user who may not see them. One query."""
    from django.urls import reverse

    if not may_view(user, apps.model):
        return []
    opts = apps.model._meta
    fields = ("pk", "name", "enabled", "checked_at", "check_ok", "check_message")
    return [
        AppStatus(
            name=name,
            enabled=enabled,
            checked_at=checked_at,
            ok=ok if checked_at else None,
            message=message,
            url=reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]),
        )
        for pk, name, enabled, checked_at, ok, message in apps.values_list(*fields)
    ]


def target_fields() -> list[TargetFields]:
    """Every installed platform's part of escalation rules and levels."""
    return [p.targets for p in platforms() if p.targets is not None]


def announce_change(sender: Any, incident_id: int, kind: str, **extra: Any) -> None:
    """The one receiver of ``oncall.signals.incident_changed`` for platforms (connected in
    ``OncallConfig.ready``): each platform hears every change, and one that fails is logged
    without keeping the others from refreshing their cards."""
    incident = extra.get("incident")
    for platform in platforms():
        try:
            platform.incident_changed(incident_id, kind, incident)
        except Exception:
            logger.exception(
                "platform %s failed to follow a change (%s) of incident %s",
                platform.name,
                kind,
                incident_id,
            )


# --- Escalation targets, for the admin and the API ---------------------------------------------


def _merged(ask: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for targets in target_fields():
        merged.update(ask(targets))
    return merged


def platform_rule_fields() -> dict[str, serializers.Field]:
    return _merged(lambda targets: targets.rule_fields())


def platform_level_fields() -> dict[str, serializers.Field]:
    return _merged(lambda targets: targets.level_fields())


def platform_rule_form_fields(rule: EscalationRule | None) -> dict[str, forms.Field]:
    return _merged(lambda targets: targets.rule_form_fields(rule))


def platform_level_form_fields(level: EscalationLevel | None) -> dict[str, forms.Field]:
    return _merged(lambda targets: targets.level_form_fields(level))


def level_has_platform_targets(level_values: dict[str, Any]) -> bool:
    return any(targets.level_has_targets(level_values) for targets in target_fields())


def validate_platform_targets(
    rule: EscalationRule, rule_values: dict[str, Any], levels: list[dict[str, Any]]
) -> dict[int | str, Any]:
    """Every platform's errors, keyed by rule field name or level index (see ``TargetFields``)."""
    errors: dict[int | str, Any] = {}
    for targets in target_fields():
        for key, found in targets.validate(rule, rule_values, levels).items():
            if isinstance(key, int):
                errors.setdefault(key, {}).update(found)
            else:
                errors[key] = found
    return errors


def save_platform_targets(
    rule: EscalationRule,
    rule_values: dict[str, Any],
    levels: Sequence[tuple[EscalationLevel, dict[str, Any]]],
) -> None:
    for targets in target_fields():
        targets.save(rule, rule_values, levels)


def rule_problems(rule: EscalationRule, memo: dict[str, Any] | None = None) -> list[str]:
    """Why some of the rule's targets won't receive anything, from every platform."""
    return [problem for p in platforms() for problem in p.rule_problems(rule, memo)]


def level_target_names(level: EscalationLevel) -> list[str]:
    return [name for p in platforms() for name in p.level_target_names(level)]


def prefetch_rules(rules: QuerySet[EscalationRule]) -> QuerySet[EscalationRule]:
    for platform in platforms():
        rules = platform.prefetch_rules(rules)
    return rules


def rule_facts(rules: Sequence[EscalationRule]) -> dict[int, list[tuple[str, str]]]:
    facts: dict[int, list[tuple[str, str]]] = {rule.pk: [] for rule in rules}
    for platform in platforms():
        for pk, found in platform.rule_facts(rules).items():
            facts[pk].extend(found)
    return facts


# --- What a platform reports back, counted for /metrics -----------------------------------------
#
# A platform calls these as things happen; the core counts them (``oncall.metrics``). Reasons
# and outcomes become label values, so they come from a short fixed vocabulary of the
# platform's (``not_linked``, ``bot_not_in_chat``, ``transient_error``), never from a message.
# Counts are made when the current transaction commits (at once outside one): a notification
# recorded in a step that rolls back was not sent.


def notifications_sent(platform: str, count: int = 1) -> None:
    """``count`` notifications were delivered (messages posted)."""
    _on_commit(lambda: metrics.notification_sent(platform, count))


def notifications_failed(platform: str, reason: str, count: int = 1) -> None:
    """``count`` notifications will not arrive (the platform gave up on them), for ``reason``."""
    _on_commit(lambda: metrics.notification_failed(platform, reason, count))


def notification_retried(platform: str, reason: str) -> None:
    """An attempt to deliver a notification failed, for ``reason``; it will be tried again."""
    _on_commit(lambda: metrics.notification_retried(platform, reason))


def _on_commit(count: Callable[[], None]) -> None:
    # robust: counting must never fail the work it counts.
    transaction.on_commit(count, robust=True)


_CARD_CALLBACK_MARK = "oncall_card_callback"
View = Callable[..., "HttpResponse"]


def counts_card_callbacks(platform: str) -> Callable[[View], View]:
    """Decorates a platform's callback view: an answer marked with :func:`card_callback` is
    counted, with the time the view took (from the request to the answer)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def timed(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            started = time.perf_counter()
            response = view(request, *args, **kwargs)
            mark = getattr(response, _CARD_CALLBACK_MARK, None)
            if mark is not None:
                action, outcome = mark
                seconds = time.perf_counter() - started
                metrics.card_callback_answered(platform, action, outcome, seconds)
            return response

        return timed

    return decorate


def card_callback(response: HttpResponse, action: str, outcome: str) -> HttpResponse:
    """Mark ``response`` as the answer to a click on a card's ``action`` button, with its
    ``outcome`` (``changed``, ``refused``, ``failed``, ...), for :func:`counts_card_callbacks`."""
    setattr(response, _CARD_CALLBACK_MARK, (action, outcome))
    return response
