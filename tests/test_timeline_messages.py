"""Timeline entries are stored as a message kind plus parameters and read in the reader's
language; entries without a known kind show their stored text."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import translation

from integrations.feishu.timeline_words import feishu_phrase
from oncall import lifecycle
from oncall.models import TimelineEntry
from oncall.timeline import Actor, record
from oncall.timeline_messages import MESSAGES, phrase
from tests.factories import IncidentFactory, TimelineEntryFactory, api_as

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def incident(channel):
    return IncidentFactory(channel=channel, title="Disk full on db-1")


def claimed_under_english(incident, responder) -> TimelineEntry:
    with translation.override("en"):
        lifecycle.claim(incident, Actor(responder, "web"))
    return incident.timeline.get(kind=TimelineEntry.Kind.CLAIMED)


def page(client, incident, **headers) -> str:
    return client.get(f"/incidents/{incident.public_id}/", **headers).content.decode()


def test_it_stores_the_kind_its_parameters_and_the_english_text(incident, responder):
    with translation.override("zh-hans"):
        lifecycle.claim(incident, Actor(responder, "web"))

    entry = incident.timeline.get(kind=TimelineEntry.Kind.CLAIMED)
    assert (entry.message_kind, entry.params) == ("claimed", {"actor": "Alice"})
    assert entry.message == "Claimed by Alice"


def test_it_shows_an_entry_written_in_english_in_chinese_to_a_chinese_reader(
    client, incident, responder
):
    claimed_under_english(incident, responder)
    client.force_login(responder)

    assert "Alice 已认领" in page(client, incident, **ZH)
    assert "Claimed by Alice" in page(client, incident, **EN)


def test_it_answers_the_api_in_the_request_language(incident, responder):
    claimed_under_english(incident, responder)
    api = api_as(responder)

    def claimed(headers):
        answer = api.get(f"/api/v1/incidents/{incident.public_id}/", **headers).json()
        return next(e for e in answer["timeline"] if e["kind"] == "claimed")

    chinese, english = claimed(ZH), claimed(EN)
    assert chinese["message"] == "Alice 已认领"
    assert english["message"] == "Claimed by Alice"
    assert chinese["message_kind"] == english["message_kind"] == "claimed"
    assert chinese["params"] == {"actor": "Alice"}


def test_it_words_nested_phrases_and_lists_in_the_reader_language(incident, responder):
    with translation.override("en"):
        lifecycle.snooze(incident, Actor(responder, "web"), timedelta(minutes=90))
    entry = incident.timeline.get(kind=TimelineEntry.Kind.SNOOZED)

    assert entry.message == "Snoozed by Alice for 1 h 30 min"
    with translation.override("zh-hans"):
        assert entry.text == "Alice 暂缓通知 1 小时 30 分钟"
        assert str(phrase("notified", people=["Bob", "Carol"])) == "已通知 Bob、Carol"


def test_it_shows_the_stored_text_of_an_entry_without_a_kind(client, incident, responder):
    TimelineEntryFactory(incident=incident, message="Claimed by Olga (an old entry)")
    client.force_login(responder)

    assert "Claimed by Olga (an old entry)" in page(client, incident, **ZH)


def test_it_shows_the_stored_text_of_an_entry_of_an_unknown_kind(incident):
    entry = TimelineEntryFactory(
        incident=incident, message="As written", message_kind="gone.kind", params={"x": 1}
    )

    with translation.override("zh-hans"):
        assert entry.text == "As written"


def test_it_escapes_user_text_in_parameters_on_the_page(client, incident, responder):
    with translation.override("en"):
        lifecycle.close(incident, Actor(responder, "web"), reason="<script>alert(1)</script>")
    client.force_login(responder)

    html = page(client, incident, **ZH)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_it_refuses_a_kind_the_registry_does_not_know():
    with pytest.raises(KeyError):
        phrase("no.such.kind")


# Kinds whose Chinese is the English word itself.
SAME_IN_CHINESE = {"actor.api"}


def test_every_message_kind_has_a_chinese_translation():
    with translation.override("zh-hans"):
        untranslated = [
            kind
            for kind, template in MESSAGES.items()
            if str(template) == _english(template)
            and any(c.isalpha() for c in str(template))
            and kind not in SAME_IN_CHINESE
        ]
    assert untranslated == []


def _english(template) -> str:
    with translation.override("en"):
        return str(template)


def test_a_platform_words_its_own_kinds_in_the_reader_language(incident):
    said = feishu_phrase("feishu.not_linked", person="Carol", app="Ops", url="https://x.example/")
    entry = record(incident, TimelineEntry.Kind.DELIVERY_FAILED, Actor.system(), said)

    assert entry.message.startswith("App not linked: Carol has no linked account")
    with translation.override("zh-hans"):
        assert entry.text.startswith("应用未关联：Carol 在 Ops 中没有关联账号")  # noqa: RUF001


def test_a_platform_kind_is_written_even_where_the_platform_is_not_listed(incident, settings):
    settings.CHAT_PLATFORMS = []  # a card task still running after Feishu was taken out
    said = feishu_phrase("feishu.chat_disbanded", chat="Ops room")

    entry = record(incident, TimelineEntry.Kind.DELIVERY_FAILED, Actor.system(), said)

    assert entry.message == "Not sent to Ops room: the chat was disbanded."
    with translation.override("zh-hans"):
        assert entry.text == "Not sent to Ops room: the chat was disbanded."  # its stored text


def test_a_kind_of_a_platform_that_is_not_installed_shows_the_stored_text(incident):
    entry = TimelineEntryFactory(
        incident=incident, message="Sent by pager", message_kind="pager.sent", params={}
    )

    assert entry.text == "Sent by pager"
    with pytest.raises(KeyError):
        phrase("pager.sent")


def test_the_system_as_actor_is_named_in_the_reader_language(incident):
    with translation.override("zh-hans"):  # a worker's language does not stick to the entry
        lifecycle.close(incident, Actor.system(), reason="every alert recovered")
    entry = incident.timeline.get(kind=TimelineEntry.Kind.CLOSED)

    assert entry.message == "Closed by system: every alert recovered"
    with translation.override("zh-hans"):
        assert entry.text == "系统 已关闭：every alert recovered"  # noqa: RUF001


def test_the_feishu_budget_warning_reads_in_the_reader_language(incident):
    from integrations.feishu.budget import warning_phrase
    from integrations.feishu.models import ApiPlan
    from tests.factories import FeishuAppFactory

    app = FeishuAppFactory(name="Ops", api_plan=ApiPlan.FREE)
    said = warning_phrase(app, 80)
    entry = record(incident, TimelineEntry.Kind.ESCALATION, Actor.system(), said)

    assert entry.message.startswith("Feishu API budget: Ops has made 80 % of its")
    assert entry.message.endswith(
        "(the free plan). Past the quota, Feishu refuses every card until the month ends."
    )
    with translation.override("zh-hans"):
        assert entry.text.startswith("飞书 API 调用量：Ops 本月已使用其")  # noqa: RUF001


def test_a_worded_reason_is_english_text_and_a_phrase_on_the_timeline():
    from oncall.timeline_messages import Worded

    reason = Worded(feishu_phrase("feishu.unreachable.not_linked", name="Alice", app="Ops"))
    incident = IncidentFactory()

    entry = record(
        incident,
        TimelineEntry.Kind.NOTIFIED,
        Actor.system(),
        phrase("notified.unreachable", people=["Bob"], unreachable=[reason]),
        data={"unreachable": [reason]},
    )

    assert reason == "Alice (no linked Feishu account in Ops)"
    assert ", ".join([reason, "Carol"]).startswith("Alice (no linked")  # text where text goes
    entry.refresh_from_db()
    assert entry.data["unreachable"] == ["Alice (no linked Feishu account in Ops)"]
    assert entry.message == "notified Bob; not reachable: Alice (no linked Feishu account in Ops)"
    with translation.override("zh-hans"):
        assert "Alice（在 Ops 中没有关联的飞书账号）" in entry.text  # noqa: RUF001
    assert copy.deepcopy(reason).phrase == reason.phrase  # copied with its phrase
