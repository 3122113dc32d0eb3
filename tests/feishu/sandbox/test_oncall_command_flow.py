"""``值班`` the real way: Alice writes to the bot in the sandbox, the event reaches the console's
callback URL, and the bot's reply names whoever is on call in her channel's schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.feishu.models import LinkedAccount
from oncall.models import EscalationLevel, ScheduleOverride
from tests.factories import ChannelFactory, EscalationRuleFactory, ScheduleFactory, UserFactory
from tests.feishu.sandbox.chat import reply_text, write


@pytest.fixture
def alice(console_app, sandbox_app, sandbox_people):
    sandbox_app.event_request_url = console_app.event_callback_url
    sandbox_app.save()
    alice = UserFactory(username="alice", first_name="Alice", last_name="Chen")
    open_id = sandbox_app.open_id_of(sandbox_people["alice"])
    LinkedAccount.objects.create(user=alice, app=console_app, open_id=open_id)
    return alice


def test_a_direct_message_asks_who_is_on_call_and_the_bot_replies(
    sandbox_app, sandbox_people, alice
):
    schedule = ScheduleFactory(name="SRE primary", time_zone="UTC")
    channel = ChannelFactory(name="Databases")
    channel.members.add(alice)
    EscalationLevel.objects.create(rule=EscalationRuleFactory(channel=channel)).schedules.add(
        schedule
    )
    now = timezone.now()
    ScheduleOverride.objects.create(
        schedule=schedule, user=alice, start=now - timedelta(hours=1), end=now + timedelta(days=30)
    )

    message = write(sandbox_app, sandbox_people["alice"], "值班", user=sandbox_people["alice"])

    # Her override lasts past the fortnight looked at: no end, and nobody after her.
    assert reply_text(message) == "SRE primary (UTC): Alice Chen"
