"""Deliveries where admins and API clients see them: the incident's admin page, the delivery
list, the app's "people not linked yet", "send a test card", and the API."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.feishu.cards import delivery
from integrations.feishu.models import CardDelivery, FeishuChat, LinkedAccount
from integrations.feishu_sandbox.models import SandboxMessage
from oncall.models import EscalationLevel
from tests.factories import ChannelFactory, EscalationRuleFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(console_app, sandbox_app, sandbox_people):
    alice = UserFactory(username="alice", first_name="Alice")
    carol = UserFactory(username="carol", first_name="Carol")
    link(alice, console_app, sandbox_app, sandbox_people["alice"])
    channel = ChannelFactory()
    channel.members.add(alice, carol)
    incident = IncidentFactory(channel=channel, title="Queue backlog")
    delivery.notify(incident, console_app, [alice, carol], [])
    return {"alice": alice, "carol": carol, "incident": incident, "channel": channel}


def test_the_incident_page_lists_its_deliveries(admin_client, setup):
    url = reverse("admin:oncall_incident_change", args=[setup["incident"].pk])
    page = admin_client.get(url).content.decode()
    cell = r'<td class="field-{}">\s*<p>{}</p>'
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.S)
    alice = next(row for row in rows if re.search(cell.format("recipient", "Alice"), row))
    carol = next(row for row in rows if re.search(cell.format("recipient", "Carol"), row))
    assert re.search(cell.format("state", "sent"), alice)
    assert re.search(cell.format("state", "app not linked"), carol)


def test_the_delivery_list_filters_what_was_not_delivered(admin_client, setup):
    url = reverse("admin:integrations_carddelivery_changelist") + "?outcome=failed"
    page = admin_client.get(url).content.decode()
    assert "Carol" in page
    assert ">Alice<" not in page


def test_the_delivery_page_shows_its_sent_copies_read_only(admin_client, setup, sandbox_people):
    (card,) = SandboxMessage.objects.filter(user=sandbox_people["alice"], msg_type="interactive")
    row = CardDelivery.objects.get(user=setup["alice"])
    page = admin_client.get(reverse("admin:integrations_carddelivery_change", args=[row.pk]))
    html = page.content.decode()
    assert re.search(rf'<td class="field-message_id">\s*<p>{card.message_id}</p>', html)
    assert row.sent_messages.get().fingerprint in html
    assert 'name="sent_messages-0-message_id"' not in html  # shown, not editable


def test_the_delivery_list_finds_a_delivery_by_a_message_id(admin_client, setup, sandbox_people):
    (card,) = SandboxMessage.objects.filter(user=sandbox_people["alice"], msg_type="interactive")
    url = reverse("admin:integrations_carddelivery_changelist")
    page = admin_client.get(url, {"q": card.message_id}).content.decode()
    assert ">Alice<" in page
    assert "Carol" not in page


def test_the_app_page_names_the_people_not_linked_yet(admin_client, console_app, setup):
    channel = setup["channel"]
    channel.escalation_rules.all().delete()
    rule = EscalationRuleFactory(channel=channel, name="R", feishu_app=console_app)
    EscalationLevel.objects.create(rule=rule, position=1, notify_channel_members=True)
    url = reverse("admin:integrations_feishuapp_change", args=[console_app.pk])
    page = admin_client.get(url).content.decode()
    assert '<span class="check-failed">Carol</span>' in page


def test_send_a_test_card_to_a_linked_person_and_to_a_chat(
    admin_client, console_app, setup, sandbox_chat, sandbox_people
):
    chat = FeishuChat.objects.create(app=console_app, chat_id=sandbox_chat.chat_id, name="SRE")
    url = reverse("admin:integrations_feishuapp_test_card", args=[console_app.pk])
    form_page = admin_client.get(url).content.decode()
    assert "Alice" in form_page
    assert "SRE" in form_page
    assert "Carol" not in form_page  # not linked: cannot receive a card
    for recipient in (f"user:{setup['alice'].pk}", f"chat:{chat.pk}"):
        response = admin_client.post(url, {"recipient": recipient})
        assert response.status_code == 302
        assert "Test card sent" in [str(m) for m in get_messages(response.wsgi_request)][-1]
    assert SandboxMessage.objects.filter(chat=sandbox_chat).count() == 1
    cards = SandboxMessage.objects.filter(user=sandbox_people["alice"], msg_type="interactive")
    assert "Test card from the on-call console" in cards.first().content  # the newest


def test_a_failed_test_card_shows_feishus_error(admin_client, console_app, setup, sandbox_chat):
    chat = FeishuChat.objects.create(app=console_app, chat_id=sandbox_chat.chat_id, name="SRE")
    sandbox_chat.bots.clear()
    url = reverse("admin:integrations_feishuapp_test_card", args=[console_app.pk])
    response = admin_client.post(url, {"recipient": f"chat:{chat.pk}"})
    assert response.status_code == 200
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Test card not sent" in message
    assert "230002" in message


def test_the_api_shows_deliveries_to_those_who_see_the_incident(setup, console_app):
    member = APIClient()
    member.force_authenticate(setup["alice"])
    incident = setup["incident"]
    body = member.get(f"/api/v1/feishu-card-deliveries/?incident__public_id={incident.public_id}")
    states = {d["recipient"]: d["state"] for d in body.json()["results"]}
    assert states == {"Alice": "sent", "Carol": "not_linked"}
    sent = SandboxMessage.objects.get(msg_type="interactive")
    ids = {d["recipient"]: d["message_ids"] for d in body.json()["results"]}
    assert ids == {"Alice": [sent.message_id], "Carol": []}
    outsider = APIClient()
    outsider.force_authenticate(UserFactory(username="mallory"))
    assert outsider.get("/api/v1/feishu-card-deliveries/").json()["results"] == []


def test_staff_list_and_remove_linked_accounts_through_the_api(admin_user, setup, console_app):
    api = APIClient()
    api.force_authenticate(admin_user)
    (link,) = api.get(
        f"/api/v1/feishu-linked-accounts/?app__public_id={console_app.public_id}"
    ).json()["results"]
    assert link["user"] == setup["alice"].pk
    assert api.delete(f"/api/v1/feishu-linked-accounts/{link['id']}/").status_code == 204
    assert not LinkedAccount.objects.exists()
    assert CardDelivery.objects.filter(user=setup["alice"]).exists()  # history stays
