"""A Chinese-reading admin and responder walk every page: no English word is left.

The walk signs in as a superuser with a Chinese browser, seeds one of everything an admin
configures and a responder handles, then opens every admin changelist, add and change page
(whatever ``admin.site`` has registered, so a new admin page is walked without editing this
test) and every responder page, and lists the English words each shows (``tests.zh_text``).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone, translation

from integrations.feishu.models import CardDelivery, LinkedAccount, WarRoom
from integrations.sources.email.models import MailAddress
from oncall.models import (
    ApiToken,
    CustomAction,
    Incident,
    InhibitRule,
    LinkIntegration,
    MaintenanceWindow,
    NotificationTemplate,
    Silence,
    WebhookEndpoint,
)
from oncall.models.schedules import ShiftNotice
from tests import payloads
from tests.dingtalk.factories import DingTalkAppFactory, DingTalkGroupFactory
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    EscalationLevelFactory,
    EscalationRuleFactory,
    FeishuAppFactory,
    FeishuChatFactory,
    ScheduleFactory,
    UserFactory,
)
from tests.zh_text import english_words, words_of

pytestmark = pytest.mark.django_db

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}

# The names this test gives its rows: user data, shown as typed, in any language.
SEEDED_NAMES = [
    "Payments",
    "Prometheus prod",
    "Ops bot",
    "Ops DingTalk",
    "Oncall group",
    "Primary",
    "Night rule",
    "Deploy freeze",
    "Quiet hosts",
    "Same host",
    "Short card",
    "Audit hook",
    "Roll back",
    "Runbook",
    "admin",
    "alice",
    "Alice",
    "CI",
    "Default",  # the rule every channel is created with, a row's name
    "alertname instance severity critical",  # the pushed alert's labels
    "team",  # the seeded matchers' label (labels.team), shown in their rows
]

# The monitoring systems a source kind receives from, named as their makers write them, in
# Chinese text too (the kinds with a Chinese name, 阿里云, 腾讯云, 夜莺 ..., use it).
PRODUCT_NAMES = {
    "Apache",
    "Azure",
    "Cisco",
    "Cloudflare",
    "Dynatrace",
    "Falcon",
    "Flashcat",
    "Graylog",
    "Jira",
    "Keep",
    "Kuma",
    "Meraki",
    "Monit",
    "Sentry",
    "Splunk",
    "Uptime",
    "Zabbix",
    "Zilliz",
}


@pytest.fixture
def seeded(push, django_capture_on_commit_callbacks) -> dict[str, Any]:
    """One of everything: the rows behind every admin page, and an incident with alerts and
    a timeline, silenced and delivered."""
    channel = ChannelFactory(name="Payments")
    alice = UserFactory(username="alice", first_name="Alice")
    channel.members.add(alice)
    source = AlertSourceFactory(channel=channel, name="Prometheus prod")
    alert = payloads.am_alert()
    alert["annotations"] = {"summary": "数据库延迟过高", "description": "p99 超过 2 秒"}
    push(source, payloads.alertmanager(alert))
    incident = Incident.objects.get()
    app = FeishuAppFactory(name="Ops bot")
    chat = FeishuChatFactory(app=app, name="Oncall group")
    LinkedAccount.objects.create(user=alice, app=app, open_id="ou_alice")
    CardDelivery.objects.create(incident=incident, app=app, chat=chat, state="sent", sent=1)
    WarRoom.objects.create(incident=incident, app=app, state=WarRoom.State.OPEN, chat=chat)
    dingtalk = DingTalkAppFactory(name="Ops DingTalk")
    DingTalkGroupFactory(app=dingtalk, name="Oncall group")
    rule = EscalationRuleFactory(channel=channel, name="Night rule", feishu_app=app)
    EscalationLevelFactory(rule=rule, users=[alice], chats=[chat])
    now = timezone.now()
    Silence.objects.create(channel=channel, name="Quiet hosts", ends_at=now + timedelta(hours=1))
    window = MaintenanceWindow.objects.create(
        channel=channel, name="Deploy freeze", starts_at=now, ends_at=now + timedelta(hours=2)
    )
    record_noise(incident, window)
    InhibitRule.objects.create(channel=channel, name="Same host", equal=["labels.host"])
    NotificationTemplate.objects.create(name="Short card")
    WebhookEndpoint.objects.create(name="Audit hook", url="https://hooks.example.com/a", secret="s")
    CustomAction.objects.create(name="Roll back", url="https://hooks.example.com/r")
    LinkIntegration.objects.create(
        channel=channel, name="Runbook", url_template="https://wiki.example.com/{title}"
    )
    schedule = ScheduleFactory(name="Primary")
    ShiftNotice.objects.create(schedule=schedule, user=alice, shift_start=now)
    ApiToken.issue(user=alice, name="CI")
    MailAddress.objects.create(source=source)
    return {"channel": channel, "incident": incident, "schedule": schedule}


def record_noise(incident: Incident, window: MaintenanceWindow) -> None:
    """What noise reduction writes on a timeline, as its writers word it: a storm that
    notified a level again (one person not reachable through Feishu nor DingTalk), flapping
    and its end, a maintenance hold and a quick silence; and a Feishu war room that could not
    invite someone."""
    from integrations.chatkit.war_rooms import Invitation
    from integrations.dingtalk.timeline_words import unreachable
    from integrations.feishu.timeline_words import feishu_phrase
    from integrations.feishu.timeline_words import unreachable as feishu_unreachable
    from oncall.models import TimelineEntry
    from oncall.noise import flapping, maintenance, storms
    from oncall.platforms import LevelReport
    from oncall.timeline import Actor, record
    from oncall.timeline_messages import Worded, phrase

    Kind, system = TimelineEntry.Kind, Actor.system()
    not_linked = Worded(feishu_phrase("feishu.unreachable.not_linked", name="Alice", app="Ops bot"))
    no_dingtalk = unreachable("not_linked", "Alice", app="Ops DingTalk")
    report = LevelReport(["Alice"], [not_linked, no_dingtalk])
    flap = flapping.Flap(incident, triggers=3, minutes=60, quiet=True, title=incident.title)
    record(incident, Kind.ALERT_STORM, system, storms.describe(57, 1, report))
    record(incident, Kind.FLAPPING, system, flapping.describe(flap))
    record(incident, Kind.FLAPPING, system, flapping.ended_message(incident.channel, True))
    record(incident, Kind.MAINTENANCE, system, maintenance.hold_message(window))
    record(
        incident, Kind.SILENCED, system, phrase("silenced", end=maintenance.moment(window.ends_at))
    )
    # A Feishu war room's refusal, as ``integrations.feishu.war_rooms.invite`` words it.
    refused = Invitation({}, [], [feishu_unreachable("not_added", "Alice")])
    opened = phrase("war_room.opened", chat="Oncall group", people=refused.described())
    record(incident, Kind.WAR_ROOM, system, opened)


@pytest.fixture
def chinese_admin(client, seeded):
    admin_user = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    client.post("/i18n/setlang/", {"language": "zh-hans"})
    return client


def admin_pages() -> dict[str, str]:
    """Every page the admin has, by a name that does not depend on row ids: its index, each
    app's index, and each registered model's changelist, add page and its first row's page."""
    pages = {"admin index": reverse("admin:index")}
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        prefix = f"admin:{meta.app_label}_{meta.model_name}"
        pages[f"{meta.app_label} index"] = reverse("admin:app_list", args=[meta.app_label])
        pages[f"{meta.label_lower} list"] = reverse(f"{prefix}_changelist")
        if model_admin.has_add_permission(_superuser_request()):
            pages[f"{meta.label_lower} add"] = reverse(f"{prefix}_add")
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages[f"{meta.label_lower} change"] = reverse(f"{prefix}_change", args=[first.pk])
    return pages


def _superuser_request() -> Any:
    from django.test import RequestFactory

    from tests.factories import UserFactory as Users

    request = RequestFactory().get("/admin/")
    request.user = Users.build(is_staff=True, is_superuser=True, is_active=True)
    return request


def responder_pages(seeded: dict[str, Any]) -> dict[str, str]:
    incident, channel, schedule = seeded["incident"], seeded["channel"], seeded["schedule"]
    return {
        "home": "/",
        "incident list": "/incidents/",
        "incident page": f"/incidents/{incident.public_id}/",
        "new incident": "/incidents/new/",
        "channel list": "/channels/",
        "channel page": f"/channels/{channel.public_id}/",
        "schedule list": "/schedules/",
        "schedule page": f"/schedules/{schedule.public_id}/",
        "shift swaps": "/schedules/swaps/",
        "insights": "/insights/",
        "account": "/account/",
    }


# Django stores permission names in English ("Can add alert") as rows, and shows them as they
# are in the user and group pages' permission pickers: data, not the console's wording.
PERMISSION_PICKER = re.compile(r'<select name="(user_)?permissions".*?</select>', re.S)


def english_left(client, pages: dict[str, str], allow: set[str]) -> dict[str, set[str]]:
    found = {}
    for name, url in pages.items():
        response = client.get(url, follow=True, **CHINESE)
        assert response.status_code == 200, name
        html = PERMISSION_PICKER.sub("", response.content.decode())
        words = english_words(html, allow)
        if words:
            found[name] = set(words)
    return found


# Terms the platforms' own Chinese consoles use as they are: DingTalk's identifiers (userid,
# unionId) and its "Stream 模式"; a matcher key's syntax, labels.<name>; Markdown; and JSON's
# null, which a read-only JSON field shows for a stored null on PostgreSQL.
PLATFORM_TERMS = {"userid", "Userid", "Stream", "labels", "Markdown", "null"}


def seeded_words() -> set[str]:
    """The seeded names' words, the time zones' (IANA names are codes: "Japan", "Zulu") and the
    platforms' own terms."""
    zones = set().union(*(words_of(zone) for zone in zoneinfo.available_timezones()))
    return zones.union(PRODUCT_NAMES, PLATFORM_TERMS, *(words_of(name) for name in SEEDED_NAMES))


# English still shown, by page, and the work that removes it. The walk fails on any other
# English word, and on a word listed here that is gone (strike it: the list only shrinks).
KNOWN_ADMIN_ENGLISH: dict[str, set[str]] = {}
KNOWN_RESPONDER_ENGLISH: dict[str, set[str]] = {}


def test_it_leaves_no_english_on_any_admin_page(chinese_admin):
    pages = admin_pages()

    left = english_left(chinese_admin, pages, seeded_words())

    assert len(pages) > 60  # every model's pages, not a few
    assert_only_known_english(left, KNOWN_ADMIN_ENGLISH, walked=set(pages))


def test_it_leaves_no_english_on_any_responder_page(chinese_admin, seeded):
    pages = responder_pages(seeded)

    left = english_left(chinese_admin, pages, seeded_words())

    assert_only_known_english(left, KNOWN_RESPONDER_ENGLISH, walked=set(pages))
    # The storm's "not reachable" reasons, each platform's in Chinese (``record_noise``).
    incident_page = chinese_admin.get(pages["incident page"], **CHINESE).content.decode()
    assert "Alice（在 Ops bot 中没有关联的飞书账号）" in incident_page  # noqa: RUF001
    assert "Alice（在 Ops DingTalk 中没有关联的钉钉账号）" in incident_page  # noqa: RUF001
    # A Feishu war room's refused invitation (``record_noise``), in Chinese too.
    assert "Alice（不在应用的可见范围内，或飞书中没有此人）" in incident_page  # noqa: RUF001


def assert_only_known_english(
    left: dict[str, set[str]], known: dict[str, set[str]], *, walked: set[str]
) -> None:
    """No English beyond the known remainder, and the remainder only shrinks: a known word
    that is gone from a walked page must be struck from the list (so the list always says what
    is left; a page no longer in the admin is not walked, and its entry can go too)."""
    unexpected = {page: words - known.get(page, set()) for page, words in left.items()}
    gone = {page: words - left.get(page, set()) for page, words in known.items() if page in walked}
    assert {page: sorted(words) for page, words in unexpected.items() if words} == {}
    assert {page: sorted(words) for page, words in gone.items() if words} == {}


def test_english_words_keeps_codes_names_and_data_out():
    html = (
        "<p>飞书应用 Feishu <b>cli_a1b2</b> 30s https://x.example.com/a API</p>"
        '<script>var english = 1;</script><textarea>{"labels": 1}</textarea>'
        "<p>Payments 已触发 left over</p>"
    )

    assert english_words(html, allow={"Payments"}) == ["left", "over"]


# --- Cards --------------------------------------------------------------------------------------
# Every state a card shows, on each platform's card, for a channel whose cards speak Chinese.

CARD_TEXT_KEYS = {"content", "text", "title", "placeholder"}
MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
MARKDOWN_MARKS = re.compile(r"\*\*|~~|<[^>]+>")


def card_text(card: object) -> list[str]:
    """What a person reads on a card: the strings under its text keys (Feishu's ``content``,
    DingTalk's ``text``), Markdown's marks and links' targets taken out."""
    if isinstance(card, dict):
        found = []
        for key, value in card.items():
            if key in CARD_TEXT_KEYS and isinstance(value, str):
                found.append(MARKDOWN_MARKS.sub(" ", MARKDOWN_LINK.sub(r"\1", value)))
            else:
                found += card_text(value)
        return found
    if isinstance(card, list):
        return [text for item in card for text in card_text(item)]
    return []


def card_states(seeded: dict[str, Any]) -> dict[str, Incident]:
    """One incident in each state a card shows, all in the seeded channel (cards in zh-hans):
    triggered and escalated, claimed, acknowledged by an alert source, snoozed, closed with a
    reason, merged into another, and with a war room open."""
    from oncall import lifecycle
    from oncall.models import ActionSource
    from oncall.timeline import Actor

    channel = seeded["channel"]
    channel.card_language = "zh-hans"
    channel.save(update_fields=["card_language"])
    alice = channel.members.get()
    person = Actor(alice, ActionSource.WEB)
    source = Actor(None, ActionSource.INTEGRATION, {"name": "Prometheus prod"})

    def opened(title: str) -> Incident:
        outcome = lifecycle.open_incident(channel, person, title=title, severity="warning")
        return outcome.incident

    states = {"triggered and escalated": seeded["incident"]}
    states["claimed"] = lifecycle.claim(opened("数据库主从延迟"), person).incident
    states["acknowledged"] = lifecycle.claim(opened("磁盘将满"), source).incident
    states["snoozed"] = lifecycle.snooze(opened("证书将过期"), person, timedelta(hours=1)).incident
    states["closed"] = lifecycle.close(opened("接口超时"), person, reason="已回滚").incident
    into = opened("订单服务报错")
    lifecycle.merge(into, [opened("支付服务报错")], person)
    states["merged"] = Incident.objects.get(merged_into=into)
    states["merged into"] = into
    war_room = opened("全站不可用")
    WarRoom.objects.create(
        incident=war_room,
        app=WarRoom.objects.get().app,
        state=WarRoom.State.OPEN,
        chat=FeishuChatFactory(app=WarRoom.objects.get().app, name="Oncall group"),
    )
    states["war room"] = war_room
    return {name: Incident.objects.get(pk=incident.pk) for name, incident in states.items()}


def platform_cards(incident: Incident) -> dict[str, dict]:
    from integrations.dingtalk.cards.render import incident_card as dingtalk_card
    from integrations.feishu.cards.render import incident_card as feishu_card
    from integrations.feishu.cards.supersede import short_card

    app = FeishuAppFactory._meta.model.objects.get(name="Ops bot")
    with translation.override("en"):  # a card speaks its channel's language, not the reader's
        return {
            "feishu": feishu_card(incident, app=app, upload_images=False),
            "feishu superseded": short_card(incident, app),
            "dingtalk": dingtalk_card(incident),
        }


def test_it_leaves_no_english_on_any_card_state(seeded):
    states = card_states(seeded)
    allow = seeded_words() | words_of("Ops bot Oncall group Prometheus prod")

    left = {}
    for state, incident in states.items():
        for platform, card in platform_cards(incident).items():
            words = english_words("\n".join(card_text(card)), allow)
            if words:
                left[f"{platform}: {state}"] = sorted(set(words))

    assert len(states) == 8
    assert left == {}


# --- What the lifecycle service answers --------------------------------------------------------
# Its refusals and answers are shown as they are on card toasts, pages and the API's
# ``message``: in the language of the request (a card's click, a page, ``Accept-Language``).


def lifecycle_answers(seeded: dict[str, Any]) -> dict[str, str]:
    from oncall import lifecycle
    from oncall.models import ActionSource
    from oncall.timeline import Actor

    channel = seeded["channel"]
    person = Actor(channel.members.get(), ActionSource.WEB)
    closed = lifecycle.open_incident(channel, person, title="接口超时", severity="warning").incident
    lifecycle.close(closed, person)
    open_one = seeded["incident"]
    attempts = {
        "claim a closed incident": lambda: lifecycle.claim(closed, person),
        "snooze a closed incident": lambda: lifecycle.snooze(closed, person, timedelta(hours=1)),
        "close a closed incident": lambda: lifecycle.close(closed, person),
        "reopen an open incident": lambda: lifecycle.reopen(open_one, person),
        "wake an incident not snoozed": lambda: lifecycle.wake(open_one, person),
        "unclaim an unclaimed incident": lambda: lifecycle.unclaim(open_one, person),
        "snooze too long": lambda: lifecycle.snooze(open_one, person, timedelta(days=400)),
        "merge into itself": lambda: lifecycle.merge(open_one, [open_one], person),
        "merge into a closed incident": lambda: lifecycle.merge(closed, [open_one], person),
        "assign a missing level": lambda: lifecycle.assign_level(open_one, person, 9),
        "claim twice": lambda: [lifecycle.claim(open_one, person) for _ in "12"][-1],
    }
    answers = {}
    for name, attempt in attempts.items():
        try:
            answers[name] = attempt().message
        except lifecycle.LifecycleError as refused:
            answers[name] = refused.message
    return answers


def test_the_lifecycle_answers_in_the_requests_language(seeded):
    with translation.override("zh-hans"):
        answers = lifecycle_answers(seeded)

    english = {name: english_words(said, seeded_words()) for name, said in answers.items()}
    assert {name: words for name, words in english.items() if words} == {}
    assert len(answers) == 11
