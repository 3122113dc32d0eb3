"""The sandbox's pages: its developer console, directory, chats, faults, API log and client.

Deliveries to the console go to a recording endpoint on the live test server
(``receiver_urls``), so these tests see the exact bytes and headers that arrived and what the
sandbox did with the answer; the console's own callback view is not involved.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from integrations.feishu.client import crypto
from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.api import p2p_chat_id
from integrations.feishu_sandbox.models import (
    ApiCall,
    CardUpdateToken,
    Fault,
    SandboxApp,
    SandboxChat,
    SandboxMessage,
    SandboxUser,
)
from tests.feishu.sandbox.receiver_urls import RECEIVER, Received

pytestmark = pytest.mark.urls("tests.feishu.sandbox.receiver_urls")

CLAIM_CARD = {
    "config": {"update_multi": True},
    "header": {"title": {"tag": "plain_text", "content": "Disk full on db-1"}, "template": "red"},
    "elements": [
        {"tag": "div", "text": {"tag": "lark_md", "content": "**Sev2** since 10:02"}},
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": "Claim"},
                    "type": "primary",
                    "value": {"action": "claim", "incident": "inc-1"},
                },
                {
                    "tag": "select_static",
                    "placeholder": {"tag": "plain_text", "content": "Snooze"},
                    "options": [
                        {"text": {"tag": "plain_text", "content": "2 hours"}, "value": "2h"}
                    ],
                    "value": {"action": "snooze", "incident": "inc-1"},
                },
            ],
        },
    ],
}
CLAIMED_CARD = {
    "config": {"update_multi": True},
    "header": {"title": {"tag": "plain_text", "content": "Claimed by Alice"}, "template": "green"},
    "elements": [],
}
BUTTON = "elements/1/actions/0"
SELECT = "elements/1/actions/1"


@pytest.fixture
def receiver(live_server):
    RECEIVER.reset()
    yield RECEIVER
    RECEIVER.reset()


@pytest.fixture
def alice(sandbox_people) -> SandboxUser:
    return sandbox_people["alice"]


@pytest.fixture
def wired_app(sandbox_app, receiver, live_server) -> SandboxApp:
    """``sandbox_app`` with its event request URL on the recording endpoint."""
    sandbox_app.event_request_url = receiver.url(live_server.url, "events")
    sandbox_app.save()
    return sandbox_app


@pytest.fixture
def direct_card(sandbox_app, alice) -> SandboxMessage:
    """A card the app's bot sent to Alice's direct chat."""
    return SandboxMessage.objects.create(
        app=sandbox_app, user=alice, msg_type="interactive", content=json.dumps(CLAIM_CARD)
    )


def url(name: str, *args: object) -> str:
    return reverse(f"feishu_sandbox:{name}", args=args)


def text_of(response) -> str:
    return response.content.decode()


def opened(received: Received, app: SandboxApp) -> dict:
    outer = json.loads(received.body)
    if app.encrypt_key:
        return json.loads(crypto.decrypt(app.encrypt_key, outer["encrypt"]))
    return outer


def expected_signature(received: Received, key: str, digest=hashlib.sha256) -> str:
    headers = received.headers
    material = headers["X-Lark-Request-Timestamp"] + headers["X-Lark-Request-Nonce"] + key
    return digest(material.encode() + received.body).hexdigest()


# --- Apps -------------------------------------------------------------------------------------


def test_it_lists_the_apps_with_their_app_id(client: Client, sandbox_app):
    response = client.get(url("home"))

    assert response.status_code == 200
    assert sandbox_app.app_id in text_of(response)
    assert "Sandbox test app" in text_of(response)


def test_it_creates_an_app_with_an_encrypt_key(client: Client, db):
    response = client.post(
        url("home"), {"name": "Pager", "bot_name": "Pager bot", "with_encrypt_key": "on"}
    )

    app = SandboxApp.objects.get(name="Pager")
    assert response.status_code == 302
    assert response["Location"] == url("app", app.app_id)
    assert app.encrypt_key
    assert app.app_id.startswith("cli_")


def test_it_creates_an_app_without_an_encrypt_key_when_unticked(client: Client, db):
    client.post(url("home"), {"name": "Plain", "bot_name": "Plain bot"})

    assert SandboxApp.objects.get(name="Plain").encrypt_key == ""


def test_the_app_page_shows_every_credential_with_a_copy_button(client: Client, sandbox_app):
    page = text_of(client.get(url("app", sandbox_app.app_id)))

    for secret in (
        sandbox_app.app_id,
        sandbox_app.app_secret,
        sandbox_app.verification_token,
        sandbox_app.encrypt_key,
    ):
        assert secret in page
    assert page.count('class="copy"') == 4


def test_the_home_page_shows_each_apps_credentials_to_copy(client: Client, sandbox_app):
    page = text_of(client.get(url("home")))

    assert sandbox_app.app_secret in page
    assert sandbox_app.verification_token in page
    assert sandbox_app.encrypt_key in page
    assert f'data-copy="#cred-{sandbox_app.pk}-app-secret"' in page


def test_it_saves_request_urls_format_redirect_urls_and_availability(
    client: Client, sandbox_app, sandbox_people
):
    response = client.post(
        url("app", sandbox_app.app_id),
        {
            "name": "Renamed",
            "bot_name": "Bot",
            "event_request_url": "http://console:8000/feishu/abc/events",
            "card_request_url": "https://console.example.com/feishu/abc/cards",
            "card_callback_format": "old",
            "subscription_mode": "long_connection",
            "redirect_urls": "https://console.example.com/a\n\n  https://console.example.com/b  \n",
            "available_to_all": "false",
            "available_users": [sandbox_people["bob"].pk],
        },
    )

    sandbox_app.refresh_from_db()
    assert response.status_code == 302
    assert sandbox_app.name == "Renamed"
    assert sandbox_app.event_request_url == "http://console:8000/feishu/abc/events"
    assert sandbox_app.card_request_url == "https://console.example.com/feishu/abc/cards"
    assert sandbox_app.card_callback_format == "old"
    assert sandbox_app.subscription_mode == "long_connection"
    assert sandbox_app.redirect_urls == [
        "https://console.example.com/a",
        "https://console.example.com/b",
    ]
    assert not sandbox_app.available_to_all
    assert list(sandbox_app.available_users.all()) == [sandbox_people["bob"]]


def test_it_refuses_a_request_url_that_is_not_http(client: Client, sandbox_app):
    response = client.post(
        url("app", sandbox_app.app_id),
        {
            "name": "x",
            "bot_name": "x",
            "event_request_url": "ftp://console/events",
            "card_callback_format": "new",
            "available_to_all": "true",
        },
    )

    sandbox_app.refresh_from_db()
    assert response.status_code == 400
    assert "is not an absolute http(s) URL" in text_of(response)
    assert sandbox_app.event_request_url == ""


def test_it_regenerates_and_clears_the_encrypt_key(client: Client, sandbox_app):
    old_key = sandbox_app.encrypt_key

    client.post(url("app-encrypt-key", sandbox_app.app_id), {"action": "regenerate"})
    sandbox_app.refresh_from_db()
    regenerated = sandbox_app.encrypt_key
    client.post(url("app-encrypt-key", sandbox_app.app_id), {"action": "clear"})
    sandbox_app.refresh_from_db()

    assert regenerated
    assert regenerated != old_key
    assert sandbox_app.encrypt_key == ""


def test_url_verification_passes_when_the_console_echoes_the_challenge(
    client: Client, wired_app, receiver
):
    receiver.echo_key = wired_app.encrypt_key

    response = client.post(url("app-verify", wired_app.app_id), {"which": "event"}, follow=True)

    body = opened(receiver.only(), wired_app)
    assert body["type"] == "url_verification"
    assert body["token"] == wired_app.verification_token
    assert "Verified" in text_of(response)


def test_url_verification_fails_when_the_console_answers_something_else(
    client: Client, wired_app, receiver
):
    receiver.answer(200, {"challenge": "not it"})

    response = client.post(url("app-verify", wired_app.app_id), {"which": "card"}, follow=True)

    assert "Verification failed" in text_of(response)
    assert receiver.only().name == "events"  # no card URL: the card check uses the event URL


# --- Directory, faults, API log ------------------------------------------------------------------


def test_it_adds_a_person_to_the_directory(client: Client, db):
    response = client.post(
        url("people"),
        {"name": "Erin Zhao", "email": "erin@example.com", "mobile": "+8613800000005"},
        follow=True,
    )

    person = SandboxUser.objects.get(name="Erin Zhao")
    assert person.email == "erin@example.com"
    assert person.user_id in text_of(response)


def test_it_refuses_a_person_without_a_name(client: Client, db):
    response = client.post(url("people"), {"name": "", "email": "x@example.com"})

    assert response.status_code == 400
    assert not SandboxUser.objects.exists()


def test_it_adds_lists_and_deletes_faults(client: Client, db):
    client.post(
        url("faults"),
        {"path_prefix": "/open-apis/im/", "status": "429", "retry_after": "2", "remaining": "3"},
    )
    fault = Fault.objects.get()
    listed = text_of(client.get(url("faults")))
    client.post(url("fault-delete", fault.pk))

    assert (fault.path_prefix, fault.status, fault.retry_after, fault.remaining) == (
        "/open-apis/im/",
        429,
        2,
        3,
    )
    assert "/open-apis/im/" in listed
    assert not Fault.objects.exists()


def test_the_api_log_shows_recent_calls_and_counts_per_code(client: Client, db):
    ApiCall.objects.create(method="POST", path="/open-apis/im/v1/messages", http_status=200, code=0)
    ApiCall.objects.create(
        method="POST", path="/open-apis/im/v1/messages", http_status=400, code=230002
    )
    ApiCall.objects.create(method="GET", path="/open-apis/im/v1/chats", http_status=200, code=0)

    page = text_of(client.get(url("calls")))

    assert "<code>0</code>: 2" in page
    assert "<code>230002</code>: 1" in page
    assert "/open-apis/im/v1/chats" in page


def test_every_form_needs_the_csrf_token(db):
    browser = Client(enforce_csrf_checks=True)

    refused = browser.post(url("people"), {"name": "Mallory"})
    browser.get(url("people"))
    accepted = browser.post(
        url("people"),
        {"name": "Mallory", "csrfmiddlewaretoken": browser.cookies["csrftoken"].value},
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert SandboxUser.objects.filter(name="Mallory").count() == 1


# --- Chats --------------------------------------------------------------------------------------


def test_it_creates_a_group_with_members(client: Client, sandbox_people):
    response = client.post(
        url("chats"),
        {
            "name": "Database team",
            "description": "",
            "owner": sandbox_people["carol"].pk,
            "members": [sandbox_people["carol"].pk, sandbox_people["dave"].pk],
        },
    )

    chat = SandboxChat.objects.get(name="Database team")
    assert response["Location"] == url("chat", chat.chat_id)
    assert set(chat.members.values_list("name", flat=True)) == {"Carol Wang", "Dave Zhang"}


def test_it_adds_and_removes_members(client: Client, sandbox_chat, sandbox_people):
    carol = sandbox_people["carol"]

    client.post(url("chat-members", sandbox_chat.chat_id), {"person": carol.pk, "action": "add"})
    added = sandbox_chat.members.filter(pk=carol.pk).exists()
    client.post(url("chat-members", sandbox_chat.chat_id), {"person": carol.pk, "action": "remove"})

    assert added
    assert not sandbox_chat.members.filter(pk=carol.pk).exists()


def test_adding_a_bot_to_a_chat_without_an_event_url_sends_nothing(
    client: Client, sandbox_app, sandbox_people
):
    chat = SandboxChat.objects.create(name="Database team")

    response = client.post(
        url("chat-bots", chat.chat_id), {"app": sandbox_app.app_id, "action": "add"}, follow=True
    )

    assert list(chat.bots.all()) == [sandbox_app]
    assert "no event was sent" in text_of(response)


def test_adding_a_bot_sends_the_bot_added_event_signed_and_encrypted(
    client: Client, wired_app, receiver, sandbox_people
):
    chat = SandboxChat.objects.create(name="Database team")
    carol = sandbox_people["carol"]

    response = client.post(
        url("chat-bots", chat.chat_id),
        {"app": wired_app.app_id, "action": "add", "operator": carol.pk},
        follow=True,
    )

    received = receiver.only()
    body = opened(received, wired_app)
    assert received.headers["X-Lark-Signature"] == expected_signature(
        received, wired_app.encrypt_key
    )
    assert body["header"]["event_type"] == "im.chat.member.bot.added_v1"
    assert body["header"]["token"] == wired_app.verification_token
    assert body["event"]["chat_id"] == chat.chat_id
    assert body["event"]["name"] == "Database team"
    assert body["event"]["operator_id"]["open_id"] == wired_app.open_id_of(carol)
    assert "the console answered HTTP 200" in text_of(response)


def test_removing_a_bot_sends_the_bot_deleted_event(
    client: Client, wired_app, receiver, sandbox_chat
):
    client.post(
        url("chat-bots", sandbox_chat.chat_id), {"app": wired_app.app_id, "action": "remove"}
    )

    body = opened(receiver.only(), wired_app)
    assert body["header"]["event_type"] == "im.chat.member.bot.deleted_v1"
    assert not sandbox_chat.bots.exists()


def test_disbanding_a_chat_tells_every_app_whose_bot_is_in_it(
    client: Client, wired_app, receiver, sandbox_chat
):
    receiver.answer(500, {"error": "boom"})

    response = client.post(url("chat-disband", sandbox_chat.chat_id), {}, follow=True)

    sandbox_chat.refresh_from_db()
    body = opened(receiver.only(), wired_app)
    assert sandbox_chat.disbanded
    assert body["header"]["event_type"] == "im.chat.disbanded_v1"
    assert body["event"]["chat_id"] == sandbox_chat.chat_id
    assert "HTTP 500" in text_of(response)


# --- The client -----------------------------------------------------------------------------------


def test_the_client_shows_a_direct_chat_per_available_app_and_the_persons_groups(
    client: Client, sandbox_app, sandbox_chat, alice, sandbox_people
):
    hidden = SandboxApp.objects.create(
        name="Finance", bot_name="Finance bot", available_to_all=False
    )
    hidden.available_users.add(sandbox_people["bob"])

    page = text_of(client.get(url("client-home", alice.user_id)))

    assert url("client-direct", alice.user_id, sandbox_app.app_id) in page
    assert url("client-group", alice.user_id, sandbox_chat.chat_id) in page
    assert "Finance bot" not in page


def test_a_conversation_shows_cards_with_their_update_count(
    client: Client, direct_card, alice, sandbox_app
):
    direct_card.update_count = 2
    direct_card.save()

    page = text_of(client.get(url("client-direct", alice.user_id, sandbox_app.app_id)))

    assert "Disk full on db-1" in page
    assert "card-template-red" in page
    assert "updated 2 times" in page
    assert f'action="{url("client-click", alice.user_id, direct_card.message_id)}"' in page


def test_a_conversation_escapes_what_the_console_sent(client: Client, sandbox_app, alice):
    SandboxMessage.objects.create(
        app=sandbox_app,
        user=alice,
        msg_type="interactive",
        content=json.dumps({"elements": [{"tag": "markdown", "content": "<script>x()</script>"}]}),
    )
    SandboxMessage.objects.create(
        app=sandbox_app, user=alice, msg_type="text", content=json.dumps({"text": "<img src=x>"})
    )

    page = text_of(client.get(url("client-direct", alice.user_id, sandbox_app.app_id)))

    assert "<script>x()" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "&lt;img src=x&gt;" in page


def test_a_person_cannot_open_a_group_they_are_not_in(client: Client, sandbox_chat, sandbox_people):
    response = client.get(
        url("client-group", sandbox_people["carol"].user_id, sandbox_chat.chat_id)
    )

    assert response.status_code == 404


def test_the_polled_fragment_changes_its_stamp_when_a_card_is_updated(
    client: Client, direct_card, alice, sandbox_app
):
    fragment = url("client-direct", alice.user_id, sandbox_app.app_id) + "?partial=1"

    before = text_of(client.get(fragment))
    direct_card.update_count += 1
    direct_card.save()
    after = text_of(client.get(fragment))

    assert "<html" not in before
    assert before != after
    assert 'data-stamp="1:' in after


def stamp_of(html: str) -> str:
    return re.search(r'data-stamp="([^"]+)"', html).group(1)


def test_the_poll_answers_204_while_the_page_s_stamp_is_current(
    client: Client, direct_card, alice, sandbox_app
):
    conversation = url("client-direct", alice.user_id, sandbox_app.app_id)
    stamp = stamp_of(text_of(client.get(conversation, {"partial": 1})))

    unchanged = client.get(conversation, {"partial": 1, "since": stamp})
    direct_card.update_count += 1
    direct_card.save()
    changed = client.get(conversation, {"partial": 1, "since": stamp})

    assert unchanged.status_code == 204
    assert changed.status_code == 200
    assert stamp_of(text_of(changed)) != stamp


# --- Clicking cards -----------------------------------------------------------------------------


def test_a_click_sends_the_new_format_callback_and_applies_the_answered_card(
    client: Client, wired_app, receiver, alice, direct_card
):
    receiver.answer(
        200,
        {
            "toast": {"type": "success", "content": "Claimed"},
            "card": {"type": "raw", "data": CLAIMED_CARD},
        },
    )

    response = client.post(
        url("client-click", alice.user_id, direct_card.message_id), {"element": BUTTON}, follow=True
    )

    received = receiver.only()
    body = opened(received, wired_app)
    direct_card.refresh_from_db()
    assert received.headers["X-Lark-Signature"] == expected_signature(
        received, wired_app.encrypt_key
    )
    assert body["header"]["event_type"] == "card.action.trigger"
    assert body["event"]["action"] == {
        "value": {"action": "claim", "incident": "inc-1"},
        "tag": "button",
    }
    assert body["event"]["operator"]["open_id"] == wired_app.open_id_of(alice)
    assert body["event"]["context"] == {
        "open_message_id": direct_card.message_id,
        "open_chat_id": p2p_chat_id(wired_app, alice),
    }
    assert CardUpdateToken.objects.filter(
        message=direct_card, token=body["event"]["token"]
    ).exists()
    assert json.loads(direct_card.content) == CLAIMED_CARD
    assert direct_card.update_count == 1
    assert direct_card.updated_at is not None
    page = text_of(response)
    assert '<div class="toast toast-success">Claimed</div>' in page
    assert "HTTP 200" in page
    assert "Claimed by Alice" in page


def test_a_click_goes_to_the_card_request_url_when_there_is_one(
    client: Client, wired_app, receiver, live_server, alice, direct_card
):
    wired_app.card_request_url = receiver.url(live_server.url, "cards")
    wired_app.save()

    client.post(url("client-click", alice.user_id, direct_card.message_id), {"element": BUTTON})

    assert receiver.only().name == "cards"


def test_a_click_in_the_old_format_is_flat_signed_with_sha1_and_replaced_by_the_answer(
    client: Client, wired_app, receiver, alice, direct_card
):
    receiver.answer(200, CLAIMED_CARD)

    client.post(
        url("client-click", alice.user_id, direct_card.message_id),
        {"element": BUTTON, "format": "old"},
    )

    received = receiver.only()
    body = opened(received, wired_app)
    direct_card.refresh_from_db()
    assert received.headers["X-Lark-Signature"] == expected_signature(
        received, wired_app.verification_token, hashlib.sha1
    )
    assert body["open_message_id"] == direct_card.message_id
    assert body["token"].startswith("c-")
    assert body["action"]["value"] == {"action": "claim", "incident": "inc-1"}
    assert json.loads(direct_card.content) == CLAIMED_CARD


def test_an_empty_old_format_answer_keeps_the_card(
    client: Client, wired_app, receiver, alice, direct_card
):
    wired_app.card_callback_format = "old"
    wired_app.save()

    client.post(url("client-click", alice.user_id, direct_card.message_id), {"element": BUTTON})

    direct_card.refresh_from_db()
    assert "open_message_id" in opened(receiver.only(), wired_app)
    assert json.loads(direct_card.content) == CLAIM_CARD
    assert direct_card.update_count == 0


def test_a_failing_console_gets_the_failure_toast_and_the_card_stays(
    client: Client, wired_app, receiver, alice, direct_card
):
    receiver.answer(500, {"card": {"type": "raw", "data": CLAIMED_CARD}})

    response = client.post(
        url("client-click", alice.user_id, direct_card.message_id), {"element": BUTTON}, follow=True
    )

    direct_card.refresh_from_db()
    assert json.loads(direct_card.content) == CLAIM_CARD
    assert f'<div class="toast toast-error">{send.FAILURE_TOAST}</div>' in text_of(response)
    assert "HTTP 500" in text_of(response)


def test_a_console_slower_than_the_deadline_gets_the_failure_toast(
    client: Client, wired_app, receiver, alice, direct_card, monkeypatch
):
    monkeypatch.setattr(send, "ANSWER_TIMEOUT_SECONDS", 0.2)
    receiver.delay = 0.6

    response = client.post(
        url("client-click", alice.user_id, direct_card.message_id), {"element": BUTTON}, follow=True
    )

    assert send.FAILURE_TOAST in text_of(response)
    assert "No answer from" in text_of(response)


def test_choosing_an_option_sends_it_with_the_menus_value(
    client: Client, wired_app, receiver, alice, direct_card
):
    client.post(
        url("client-click", alice.user_id, direct_card.message_id),
        {"element": SELECT, "option": "2h"},
    )

    action = opened(receiver.only(), wired_app)["event"]["action"]
    assert action == {
        "value": {"action": "snooze", "incident": "inc-1"},
        "tag": "select_static",
        "option": "2h",
    }


def test_an_option_the_menu_does_not_have_is_refused(
    client: Client, wired_app, receiver, alice, direct_card
):
    response = client.post(
        url("client-click", alice.user_id, direct_card.message_id),
        {"element": SELECT, "option": "99y"},
        follow=True,
    )

    assert receiver.received == []
    assert "no longer on the card" in text_of(response)


def test_nobody_can_click_a_card_in_someone_elses_direct_chat(
    client: Client, wired_app, receiver, sandbox_people, direct_card
):
    response = client.post(
        url("client-click", sandbox_people["bob"].user_id, direct_card.message_id),
        {"element": BUTTON},
    )

    assert response.status_code == 404
    assert receiver.received == []


def test_nobody_can_click_a_card_in_a_disbanded_group(
    client: Client, wired_app, receiver, alice, sandbox_chat
):
    card = SandboxMessage.objects.create(
        app=wired_app, chat=sandbox_chat, msg_type="interactive", content=json.dumps(CLAIM_CARD)
    )
    sandbox_chat.disbanded = True
    sandbox_chat.save()

    response = client.post(url("client-click", alice.user_id, card.message_id), {"element": BUTTON})

    assert response.status_code == 404
    assert receiver.received == []


# --- Writing to the bot ---------------------------------------------------------------------------


def test_a_direct_message_is_stored_and_sent_as_a_p2p_message_event(
    client: Client, wired_app, receiver, alice
):
    response = client.post(
        url("client-direct", alice.user_id, wired_app.app_id), {"text": "help"}, follow=True
    )

    stored = SandboxMessage.objects.get(sender=alice)
    message = opened(receiver.only(), wired_app)["event"]["message"]
    assert (stored.app, stored.user, stored.chat) == (wired_app, alice, None)
    assert json.loads(stored.content) == {"text": "help"}
    assert message["message_id"] == stored.message_id
    assert message["chat_type"] == "p2p"
    assert json.loads(message["content"]) == {"text": "help"}
    assert "mentions" not in message
    assert "HTTP 200" in text_of(response)


def test_a_group_message_that_mentions_the_bot_carries_the_mention(
    client: Client, wired_app, receiver, alice, sandbox_chat
):
    client.post(
        url("client-group", alice.user_id, sandbox_chat.chat_id),
        {"text": "ack", "mention": "on", "bot": wired_app.app_id},
    )

    stored = SandboxMessage.objects.get(sender=alice)
    message = opened(receiver.only(), wired_app)["event"]["message"]
    assert stored.chat == sandbox_chat
    assert "ack" in json.loads(stored.content)["text"]
    assert message["chat_type"] == "group"
    assert json.loads(message["content"]) == {"text": "@_user_1 ack"}
    assert message["mentions"][0]["id"]["open_id"] == send.bot_open_id(wired_app)


def test_a_reply_to_a_card_in_a_group_carries_the_cards_message_id(
    client: Client, wired_app, receiver, alice, sandbox_chat
):
    card = SandboxMessage.objects.create(
        app=wired_app, chat=sandbox_chat, msg_type="interactive", content=json.dumps(CLAIM_CARD)
    )
    page = text_of(client.get(url("client-group", alice.user_id, sandbox_chat.chat_id)))

    client.post(
        url("client-group", alice.user_id, sandbox_chat.chat_id),
        {"text": "ack", "mention": "on", "bot": wired_app.app_id, "reply_to": card.message_id},
    )

    message = opened(receiver.only(), wired_app)["event"]["message"]
    assert f"?reply_to={card.message_id}" in page
    assert (message["parent_id"], message["root_id"]) == (card.message_id, card.message_id)
    assert SandboxMessage.objects.get(sender=alice).reply_to == card


def test_a_group_without_a_bot_cannot_be_written_to(client: Client, alice, db):
    chat = SandboxChat.objects.create(name="Quiet")
    chat.members.add(alice)

    page = text_of(client.get(url("client-group", alice.user_id, chat.chat_id)))
    client.post(url("client-group", alice.user_id, chat.chat_id), {"text": "anyone?"})

    assert "No bot is in this group" in page
    assert not SandboxMessage.objects.exists()
