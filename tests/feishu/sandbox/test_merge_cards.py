"""Merge and split keep every sent card current, through the sandbox: the merged incident's
copies say "merged into #N" and link there, the target's count the alerts it took in."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.cards import delivery
from integrations.feishu.cards.render import console_link
from integrations.feishu.models import SentCard
from integrations.feishu_sandbox.models import SandboxMessage
from oncall import lifecycle
from oncall.models import Alert
from oncall.timeline import Actor
from tests.factories import AlertFactory, ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link


@pytest.fixture
def alice(console_app, sandbox_app, sandbox_people):
    user = UserFactory(username="alice", first_name="Alice")
    link(user, console_app, sandbox_app, sandbox_people["alice"])
    return user


@pytest.fixture
def incidents(alice):
    channel = ChannelFactory()
    channel.members.add(alice)
    target = IncidentFactory(channel=channel, title="Database down")
    AlertFactory(incident=target)
    source = IncidentFactory(channel=channel, title="API errors")
    AlertFactory(incident=source)
    AlertFactory(incident=source)
    return target, source


def copy_of(incident) -> str:
    """The card of ``incident`` as the sandbox shows it now."""
    (sent,) = SentCard.objects.filter(delivery__incident=incident)
    message = SandboxMessage.objects.get(message_id=sent.message_id)
    return json.dumps(json.loads(message.content), ensure_ascii=False)


def test_a_merge_updates_the_cards_of_both_incidents(console_app, alice, incidents):
    target, source = incidents
    for incident in (target, source):
        delivery.notify(incident, console_app, [alice], [])
    assert "2 total" in copy_of(source)

    # The merge's announcements make the stored cards stale and sync every copy (tasks are
    # eager here).
    lifecycle.merge(target, [source], Actor(alice, "web"))

    merged = copy_of(source)
    entry = console_link(target, console_app)  # through the app's web entry: signed in
    assert f"Merged into [#{target.number} Database down]({entry})" in merged
    assert f"moved to #{target.number}" in merged
    assert '"tag": "action"' not in merged
    assert "3 firing / 3 total" in copy_of(target)
    assert delivery.sync(source.pk) == delivery.sync(target.pk) == 0  # all current


def test_a_split_updates_the_card_of_the_incident_it_left(console_app, alice, incidents):
    _target, source = incidents
    delivery.notify(source, console_app, [alice], [])

    lifecycle.split(Alert.objects.filter(incident=source).first(), Actor(alice, "web"))

    assert "1 firing / 1 total" in copy_of(source)
