"""Fixtures of the sandbox's own tests (the tenant's are in ``fixtures.py``, a plugin)."""

from __future__ import annotations

import pytest

from integrations.feishu.cards import delivery
from integrations.feishu.models import FeishuChat
from integrations.feishu_sandbox import sliding_window
from integrations.feishu_sandbox.models import SandboxMessage
from tests.clocks import FakeClock
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link


@pytest.fixture
def stopped_clock(monkeypatch) -> FakeClock:
    """The clock the sandbox's rate limits count with, stopped (``advance`` moves it): a burst
    of calls all falls in one window, however slowly the machine makes them."""
    clock = FakeClock()
    monkeypatch.setattr(sliding_window, "CLOCK", clock)
    return clock


@pytest.fixture
def card_world(console_app, sandbox_app, sandbox_people, sandbox_chat):
    """Alice and Bob are linked members; Carol is a member without a link; Dave is linked but
    not a member. The incident's card was sent to the SRE group."""
    sandbox_app.card_request_url = console_app.card_callback_url
    sandbox_app.save()
    users = {k: UserFactory(username=k, first_name=k.title()) for k in sandbox_people}
    for key in ("alice", "bob", "dave"):
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    channel = ChannelFactory(name="Databases")
    channel.members.add(users["alice"], users["bob"], users["carol"])
    incident = IncidentFactory(channel=channel, title="Replication lag")
    group = FeishuChat.objects.create(app=console_app, chat_id=sandbox_chat.chat_id, name="SRE")
    delivery.notify(incident, console_app, [], [group])
    card = SandboxMessage.objects.get(chat=sandbox_chat, msg_type="interactive")
    return {
        "app": sandbox_app,
        "people": sandbox_people,
        "users": users,
        "card": card,
        "incident": incident,
    }
