"""Feishu re-sends an event it got no answer to after about 15 s, 5 min, 1 h and 6 h: each
re-send is accepted (the replay window covers the schedule) and processed once (the event id's
receipt outlives the window)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from integrations.feishu import tasks
from integrations.feishu.models import CallbackReceipt, FeishuChat
from tests.feishu.test_callbacks import bot_added, deliver, event

HOUR = 3600

pytestmark = pytest.mark.django_db


def test_an_event_re_sent_an_hour_late_is_processed_once(client, app):
    """The console was down for the first tries: the re-send an hour later is the first
    delivery it sees, signed with the event's first timestamp (the worst case)."""
    first_sent = int(time.time()) - HOUR
    payload = bot_added(app, chat_id="oc_late", event_id="ev-late")

    answer = deliver(client, app, payload, timestamp=first_sent)

    assert answer.status_code == 200
    assert FeishuChat.objects.get(app=app, chat_id="oc_late").status == FeishuChat.Status.ACTIVE
    assert CallbackReceipt.objects.filter(app=app, key="ev-late").count() == 1


@pytest.mark.parametrize("late", [15, 5 * 60, HOUR, 6 * HOUR, 7 * HOUR + 5 * 60])
def test_every_re_send_of_a_processed_event_is_answered_200_and_not_processed_again(
    client, app, late
):
    sent = int(time.time())
    payload = event(app, "im.chat.disbanded_v1", {"chat_id": "oc_gone"}, event_id="ev-once")
    FeishuChat.objects.create(app=app, chat_id="oc_gone", name="Gone")
    assert deliver(client, app, payload, timestamp=sent - late).status_code == 200
    FeishuChat.objects.filter(chat_id="oc_gone").update(status=FeishuChat.Status.ACTIVE)

    again = deliver(client, app, payload, timestamp=sent - late)

    assert again.status_code == 200
    assert FeishuChat.objects.get(chat_id="oc_gone").status == FeishuChat.Status.ACTIVE
    assert CallbackReceipt.objects.filter(app=app, key="ev-once").count() == 1


def test_a_receipt_is_kept_past_the_replay_window(app, settings):
    """The purge keeps a receipt for days: a re-send 8 hours in is still known."""
    CallbackReceipt.objects.record_first(app, "ev-kept", "im.chat.disbanded_v1")
    window = timedelta(seconds=settings.FEISHU_CALLBACK_MAX_SKEW_SECONDS)
    CallbackReceipt.objects.filter(key="ev-kept").update(
        received_at=timezone.now() - window - timedelta(minutes=5)
    )

    tasks.purge_callback_receipts()

    assert CallbackReceipt.objects.filter(key="ev-kept").exists()


def test_receipts_kept_shorter_than_the_window_stop_the_start(settings):
    settings.FEISHU_CALLBACK_RECEIPT_RETENTION_DAYS = 1
    settings.FEISHU_CALLBACK_MAX_SKEW_SECONDS = 2 * 86400

    with pytest.raises(SystemCheckError) as stopped:
        call_command("check")

    assert "oncall.E103" in str(stopped.value)
