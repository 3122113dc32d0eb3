"""The console's Feishu integration end to end against the sandbox on a live server: check
configuration, chat sync, the bot added from the sandbox's side, answering a message."""

from __future__ import annotations

import logging

from django.contrib.messages import get_messages
from django.urls import reverse

from integrations.feishu import chats, setup_check, tasks
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.models import FeishuChat
from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.models import SandboxChat, SandboxMessage


def test_check_configuration_succeeds_and_lists_the_bots_chats(console_app, sandbox_chat):
    result = setup_check.check_configuration(console_app)
    assert result.ok, result.message
    assert "SRE on-call" in result.message
    console_app.refresh_from_db()
    assert console_app.check_ok is True
    assert console_app.checked_at is not None
    chat = FeishuChat.objects.get(app=console_app)
    assert (chat.chat_id, chat.status) == (sandbox_chat.chat_id, FeishuChat.Status.ACTIVE)


def test_check_configuration_reports_feishus_error_for_a_wrong_secret(
    console_app, sandbox_chat, caplog
):
    console_app.app_secret = "not-the-secret"
    console_app.save()
    with caplog.at_level(logging.DEBUG):
        result = setup_check.check_configuration(console_app)
    assert not result.ok
    assert "App ID / App Secret" in result.message
    assert "Feishu code" in result.message
    assert not FeishuChat.objects.exists()
    assert "not-the-secret" not in caplog.text
    assert "not-the-secret" not in result.message


def test_the_admin_button_checks_and_reports(admin_client, console_app, sandbox_chat):
    url = reverse("admin:integrations_feishuapp_check", args=[console_app.pk])
    response = admin_client.post(url)
    assert response.status_code == 302
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Credentials work" in message
    assert "SRE on-call" in message
    page = admin_client.get(response.url).content.decode()
    assert "check-ok" in page


def test_sync_follows_the_bot_leaving_and_coming_back(console_app, sandbox_chat, sandbox_app):
    assert chats.sync_chats(console_app).added == 1
    sandbox_chat.bots.remove(sandbox_app)
    result = chats.sync_chats(console_app)
    assert result.gone == 1
    chat = FeishuChat.objects.get(app=console_app)
    assert chat.status == FeishuChat.Status.BOT_REMOVED
    sandbox_chat.bots.add(sandbox_app)
    sandbox_chat.name = "SRE on-call (new)"
    sandbox_chat.save()
    result = chats.sync_chats(console_app)
    assert (result.returned, result.renamed) == (1, 1)
    chat.refresh_from_db()
    assert (chat.status, chat.name) == (FeishuChat.Status.ACTIVE, "SRE on-call (new)")


def test_the_periodic_sync_skips_apps_synced_recently(console_app, sandbox_chat, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert tasks.sync_all_chats() == 1
    assert FeishuChat.objects.filter(app=console_app).count() == 1
    assert tasks.sync_all_chats() == 0  # synced a moment ago


def test_the_bot_answers_a_direct_message_once(console_app, sandbox_app, sandbox_people):
    alice = sandbox_people["alice"]
    question = SandboxMessage.objects.create(
        app=sandbox_app, user=alice, sender=alice, msg_type="text", content='{"text": "hi"}'
    )
    message = IncomingMessage(
        message_id=question.message_id,
        chat_id="oc_p2p",
        chat_type="p2p",
        sender_open_id=sandbox_app.open_id_of(alice),
        text="hi",
    )
    tasks.answer_message(console_app.pk, message.__dict__)
    tasks.answer_message(console_app.pk, message.__dict__)  # a redelivered task
    (reply,) = SandboxMessage.objects.filter(reply_to=question)
    assert reply.sender is None  # the bot
    assert "Commands" in reply.content
    assert console_app.web_url in reply.content


def test_a_chat_added_in_the_sandbox_reaches_the_console(console_app, sandbox_app, sandbox_people):
    """The bot-added event the sandbox sends is signed and encrypted like Feishu's: accepted."""
    sandbox_app.event_request_url = console_app.event_callback_url
    sandbox_app.save()
    chat = SandboxChat.objects.create(name="Database team")
    chat.members.add(sandbox_people["carol"])
    chat.bots.add(sandbox_app)
    event = send.bot_membership_event(sandbox_app, chat, sandbox_people["carol"], added=True)
    delivery = send.send_event(sandbox_app, event)
    assert delivery.status == 200, delivery.summary()
    assert FeishuChat.objects.get(app=console_app, chat_id=chat.chat_id).name == "Database team"
    # The same event id again: answered, not processed again (a rename meanwhile survives).
    FeishuChat.objects.filter(app=console_app, chat_id=chat.chat_id).update(name="Renamed")
    again = send.post(
        send.prepare(sandbox_app, sandbox_app.event_request_url, event, signing="event")
    )
    assert again.status == 200
    assert FeishuChat.objects.get(app=console_app, chat_id=chat.chat_id).name == "Renamed"
