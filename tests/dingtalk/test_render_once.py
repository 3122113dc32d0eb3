"""A new incident's DingTalk cards: one render per send (two people and the SRE group), and no
sync after them to render the card once more (``chatkit.card_versions``: a send plans a sync
only when a change was announced while its card was on its way). A change announced then is
still carried to the copies.

Renders are counted at the card builder the deliveries call, which runs as it always does."""

from __future__ import annotations

import pytest

from integrations.dingtalk.cards import delivery
from integrations.dingtalk.models import DingTalkCardDelivery
from integrations.dingtalk_sandbox.models import SandboxCard
from oncall import lifecycle
from oncall.timeline import Actor
from tests.dingtalk import test_cards_e2e as e2e
from tests.dingtalk.cards_world import cards_to, group_cards, shows
from tests.factories import IncidentFactory
from tests.renders import count_renders
from tests.workers import wait_for

escalating = e2e.escalating  # its fixture: level 1 is Alice, Bob and the SRE group


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """The incident of every card the deliveries rendered, in order."""
    return count_renders(monkeypatch, delivery)


@pytest.mark.django_db(transaction=True)
def test_it_renders_a_new_incidents_card_for_its_sends_and_no_sync(
    client, world, escalating, renders
):
    incident = e2e.push_alert(client, escalating)
    wait_for(
        lambda: len(cards_to("alice")) == len(cards_to("bob")) == len(group_cards(world)) == 1,
        "level 1's cards to Alice, Bob and the SRE group",
    )

    assert renders == [incident.pk] * 3


@pytest.mark.django_db(transaction=True)
def test_a_change_announced_while_a_card_is_on_its_way_still_reaches_it(world, monkeypatch):
    incident = IncidentFactory(channel=world.channel, title="Replication lag")
    post = delivery._post

    def claimed_meanwhile(*args, **kwargs):
        # The claim commits and is announced after the card was rendered, before it is
        # recorded as sent: the announcement finds no sent card to update.
        post(*args, **kwargs)
        lifecycle.claim(incident, Actor(world.users["alice"], "api"))

    monkeypatch.setattr(delivery, "_post", claimed_meanwhile)
    delivery.notify(incident, world.app, [], [world.group])

    (card,) = SandboxCard.objects.all()
    assert shows(card, "Claimed by Alice")
    assert DingTalkCardDelivery.objects.get().sent == 1
