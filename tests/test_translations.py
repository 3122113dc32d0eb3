"""Pages in English and Chinese; cards in the console's language whoever made them change;
and the catalogs compiled from .po without GNU gettext."""

from __future__ import annotations

import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

from integrations.feishu.cards.render import incident_card
from integrations.feishu.models import LinkedAccount
from oncall.translations import compile_catalogs
from tests.factories import FeishuAppFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def test_the_list_follows_the_browsers_language(signed_in, channel):
    IncidentFactory(channel=channel)

    chinese = signed_in.get("/incidents/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content
    english = signed_in.get("/incidents/", HTTP_ACCEPT_LANGUAGE="en-US").content

    assert '<html lang="zh-hans">' in chinese.decode()
    assert "故障" in chinese.decode()
    assert "已触发" in chinese.decode()
    assert "严重" in chinese.decode()
    assert "Most urgent first" in english.decode()
    assert "故障" not in english.decode()


def test_people_choose_their_language_on_any_page(signed_in, channel):
    incident = IncidentFactory(channel=channel)
    page = f"/incidents/{incident.public_id}/"

    response = signed_in.post("/i18n/setlang/", {"language": "zh-hans", "next": page})

    assert response.status_code == 302
    assert response["Location"] == page
    body = signed_in.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "认领" in body
    assert "时间线" in body


def test_the_action_messages_are_translated(signed_in, channel):
    incident = IncidentFactory(channel=channel)
    signed_in.post("/i18n/setlang/", {"language": "zh-hans"})

    response = signed_in.post(f"/incidents/{incident.public_id}/claim/", follow=True)

    assert "已由你认领。" in response.content.decode()


def test_the_unlink_messages_are_translated(signed_in, responder):
    app = FeishuAppFactory(name="Ops bot")
    LinkedAccount.objects.create(user=responder, app=app, open_id="ou_1")
    signed_in.post("/i18n/setlang/", {"language": "zh-hans"})

    done = signed_in.post("/account/feishu/", {"app": str(app.public_id)}, follow=True)
    again = signed_in.post("/account/feishu/", {"app": str(app.public_id)}, follow=True)

    assert "你的飞书账号已与 Ops bot 解除关联" in done.content.decode()
    assert "这里没有可以解除的关联账号。" in again.content.decode()


def test_a_card_stays_in_the_consoles_language_during_a_chinese_request(channel, responder):
    incident = IncidentFactory(channel=channel, status="acknowledged", claimed_by=responder)

    with translation.override("zh-hans"):
        card = str(incident_card(incident))

    assert "Claimed by Alice" in card
    assert "认领" not in card


def test_catalogs_compile_without_gettext_and_only_when_stale(tmp_path: Path):
    source = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(source, target / "django.po")

    first = compile_catalogs([tmp_path])
    again = compile_catalogs([tmp_path])

    assert first == [target / "django.mo"]
    assert again == []
    compiled = polib.mofile(str(target / "django.mo"))
    assert compiled.find("Claim").msgstr == "认领"
