"""The language of a Feishu card: the channel's card language, else the app's, else the
console's (``ONCALL_LANGUAGE``), asked of the core through one function."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from integrations.feishu.cards.render import incident_card
from integrations.feishu.cards.supersede import short_card
from oncall.env import env_choice
from oncall.languages import card_language
from tests.factories import AlertFactory, ChannelFactory, FeishuAppFactory, IncidentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)

# Words a Chinese card may keep: product and unit names, and what the test data is called.
ALLOWED_LATIN = {"feishu", "lark", "id", "ops", "db"}


def visible_text(card: object) -> list[str]:
    """The texts a person reads on a card: every ``content`` of its text objects."""
    if isinstance(card, dict):
        found = [card["content"]] if isinstance(card.get("content"), str) else []
        return found + [t for key, v in card.items() if key != "content" for t in visible_text(v)]
    if isinstance(card, list):
        return [t for item in card for t in visible_text(item)]
    return []


def english_words(texts: list[str]) -> list[str]:
    """Latin words left in ``texts``, less links' targets and the allowed names."""
    words = []
    for text in texts:
        text = re.sub(r"\]\([^)]*\)", "]", text)  # a markdown link's address
        text = re.sub(r"https?://\S+", "", text)
        words += [w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in ALLOWED_LATIN]
    return words


@pytest.fixture
def incident():
    channel = ChannelFactory(name="数据库")
    incident = IncidentFactory(channel=channel, title="磁盘已满 db-1", severity="critical")
    AlertFactory(
        incident=incident,
        title="磁盘已满 db-1",
        first_seen=NOW - timedelta(minutes=20),
        last_seen=NOW - timedelta(minutes=5),
    )
    return incident


def card(incident, app) -> dict:
    with translation.override("en"):  # the clicker's or page's language does not count
        return incident_card(incident, app=app, now=NOW, upload_images=False)


def test_the_channel_card_language_wins_over_the_apps(incident, settings):
    settings.LANGUAGE_CODE = "en"
    app = FeishuAppFactory(card_language="en")
    incident.channel.card_language = "zh-hans"
    incident.channel.save()

    assert app.language_for(incident) == "zh-hans"
    assert english_words(visible_text(card(incident, app))) == []


def test_the_app_card_language_wins_over_the_consoles(incident, settings):
    settings.LANGUAGE_CODE = "en"
    app = FeishuAppFactory(card_language="zh-hans")

    assert app.language_for(incident) == "zh-hans"
    assert english_words(visible_text(card(incident, app))) == []


def test_a_channel_in_english_gets_english_cards_from_a_chinese_app(incident, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    app = FeishuAppFactory(card_language="zh-hans")
    incident.channel.card_language = "en"
    incident.channel.save()

    assert "Open in console" in str(card(incident, app))


def test_without_a_choice_cards_speak_the_consoles_language(incident, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    app = FeishuAppFactory()

    assert card_language(incident, app.card_language) == "zh-hans"
    assert english_words(visible_text(card(incident, app))) == []


def test_the_superseded_copy_speaks_the_card_language(incident, settings):
    settings.LANGUAGE_CODE = "en"
    app = FeishuAppFactory(card_language="zh-hans")

    with translation.override("en"):
        assert english_words(visible_text(short_card(incident, app))) == []


def test_the_console_language_setting_takes_only_known_languages(monkeypatch):
    monkeypatch.setenv("ONCALL_LANGUAGE", "ZH-Hans")
    assert env_choice("ONCALL_LANGUAGE", "en", ["en", "zh-hans"]) == "zh-hans"

    monkeypatch.setenv("ONCALL_LANGUAGE", "fr")
    with pytest.raises(ImproperlyConfigured, match="ONCALL_LANGUAGE"):
        env_choice("ONCALL_LANGUAGE", "en", ["en", "zh-hans"])


def test_the_api_and_admin_offer_the_card_language(client):
    from django.contrib.auth import get_user_model

    from tests.factories import api_as

    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    channel = ChannelFactory(name="数据库")
    answer = api_as(root).patch(
        f"/api/v1/channels/{channel.public_id}/", {"card_language": "zh-hans"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    channel.refresh_from_db()
    assert channel.card_language == "zh-hans"

    refused = api_as(root).patch(
        f"/api/v1/channels/{channel.public_id}/", {"card_language": "fr"}, format="json"
    )
    assert refused.status_code == 400

    client.force_login(root)
    page = client.get(f"/admin/oncall/channel/{channel.pk}/change/").content.decode()
    assert 'name="card_language"' in page
