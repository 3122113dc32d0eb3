"""A new incident's card is rendered once for level 1's sends (two people and a group), and no
sync follows to render it again: the sends find the card current (``chatkit.card_versions``).
Its first render comes before the incident's creation is announced (with tasks inline, the
cards go out in the merge's commit, ahead of the announcement), which used to leave it without
a version: each send rendered it, and each asked for a sync that rendered it once more.

Renders are counted at the card builder the render cache calls, which runs as it always does."""

from __future__ import annotations

import pytest

from integrations.feishu.cards import delivery, render_cache
from integrations.feishu.models import SentCard
from integrations.feishu_sandbox.models import ApiCall
from oncall import lifecycle
from oncall.timeline import Actor
from tests.feishu.sandbox import test_escalation_e2e as e2e
from tests.renders import count_renders

world = e2e.world  # its fixture: level 1 is Alice, Bob and the SRE group


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """The incident of every card rendered, in order."""
    return count_renders(monkeypatch, render_cache)


def patches() -> int:
    return ApiCall.objects.filter(method="PATCH").count()


@pytest.mark.django_db(transaction=True)
def test_it_renders_a_new_incidents_card_once_for_two_people_and_a_group(client, world, renders):
    incident = e2e.level_1(client, world)

    assert renders == [incident.pk]
    assert len(e2e.all_cards()) == 3
    assert patches() == 0
    # Every copy is known to show the current card: a sync would patch nothing.
    assert delivery.sync(incident.pk) == 0


@pytest.mark.django_db(transaction=True)
def test_a_change_after_the_first_cards_is_still_rendered_and_reaches_every_copy(
    client, world, renders
):
    incident = e2e.level_1(client, world)
    lifecycle.claim(incident, Actor(world["users"]["alice"], "api"))

    assert renders == [incident.pk, incident.pk]  # the claim's card, once for every copy
    assert patches() == 3
    fingerprints = set(SentCard.objects.values_list("fingerprint", flat=True))
    assert len(fingerprints) == 1
