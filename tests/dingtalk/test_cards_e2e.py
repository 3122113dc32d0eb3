"""Issue 22's end-to-end test for DingTalk against its sandbox on a live server: an Alertmanager
alert becomes an incident, level 1's cards reach two people and the SRE group, nobody claims
it, level 2 follows after its timeout, a click on Carol's card in the sandbox (a sealed, signed
callback) claims it, every copy shows the claim, and level 3 never comes.

It runs with tasks inline (any database) and, in the PostgreSQL + Redis stage, with a real
Celery worker, once with the click arriving by Stream mode through the official SDK. Time
passes by moving the planned step into the past.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.dingtalk.stream.connection import AppStreamClient
from integrations.dingtalk_sandbox import card_clicks, stream
from integrations.dingtalk_sandbox.models import PushRecord, SandboxCard
from oncall import escalation
from oncall.models import EscalationLevel, Incident
from tests import payloads
from tests.dingtalk.cards_world import cards_to, group_cards, shows, user_id_of
from tests.dingtalk.streaming import running, serving_stream, stream_mode
from tests.factories import AlertSourceFactory, EscalationRuleFactory
from tests.workers import celery_worker, wait_for


@pytest.fixture
def escalating(world):
    """Alice and Bob with the SRE group (level 1), Carol (level 2), Dave (level 3)."""
    world.rule.delete()
    rule = EscalationRuleFactory(channel=world.channel, name="Databases on-call")
    first = EscalationLevel.objects.create(rule=rule, position=1, escalate_after_minutes=5)
    first.users.add(world.users["alice"], world.users["bob"])
    first.dingtalk_targets.create(group=world.group)
    for position, name in ((2, "carol"), (3, "dave")):
        level = EscalationLevel.objects.create(
            rule=rule, position=position, escalate_after_minutes=5
        )
        level.users.add(world.users[name])
    world.rule = rule
    return AlertSourceFactory(channel=world.channel, kind="alertmanager")


def push_alert(client, source) -> Incident:
    body = payloads.alertmanager(payloads.am_alert("ReplicationLag"))
    response = client.post(f"/push/{source.token}", data=body, content_type="application/json")
    assert response.status_code == 200
    return wait_for(lambda: Incident.objects.filter(channel=source.channel).first(), "an incident")


def let_the_level_time_out(incident: Incident) -> None:
    incident.refresh_from_db()
    assert incident.next_escalation_at is not None
    overdue = timezone.now() - timedelta(minutes=1)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=overdue)
    escalation.sweep()


def alert_to_level_2_to_a_claim_on_every_copy(client, world, source) -> None:
    incident = push_alert(client, source)
    wait_for(
        lambda: len(cards_to("alice")) == len(cards_to("bob")) == len(group_cards(world)) == 1,
        "level 1's cards to Alice, Bob and the SRE group",
    )
    assert cards_to("carol") == []

    let_the_level_time_out(incident)
    (carols,) = wait_for(lambda: cards_to("carol"), "level 2's card to Carol")

    record = card_clicks.click(carols, user_id_of("carol"), "claim")
    assert record.ok, record.outcome
    wait_for(
        lambda: all(shows(card, "Claimed by Carol") for card in SandboxCard.objects.all()),
        "every copy of the card to show the claim",
    )
    assert SandboxCard.objects.count() == 4
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    assert escalation.sweep() == 0
    assert cards_to("dave") == []
    assert [len(cards_to(n)) for n in ("alice", "bob", "carol")] == [1, 1, 1]


@pytest.mark.django_db(transaction=True)
def test_alert_to_cards_to_level_2_to_a_click_with_tasks_inline(client, world, escalating):
    alert_to_level_2_to_a_claim_on_every_copy(client, world, escalating)


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_same_with_a_real_worker(client, world, escalating, monkeypatch, settings):
    # The worker calls the sandbox on the live server, as the world set it.
    with celery_worker(monkeypatch, DINGTALK_SANDBOX_BASE_URL=settings.DINGTALK_SANDBOX_BASE_URL):
        alert_to_level_2_to_a_claim_on_every_copy(client, world, escalating)


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_same_with_the_click_through_stream_mode(
    client, world, escalating, monkeypatch, settings
):
    """Stream mode end to end: the console's connection (the official ``dingtalk-stream``
    client) is open to the sandbox's Stream endpoint, and the click reaches it there, not at
    the card callback URL; the worker sends the cards and their updates."""
    stream_mode(world)
    with (
        serving_stream(settings) as server,
        running(AppStreamClient(world.app).start),
        celery_worker(monkeypatch, DINGTALK_SANDBOX_BASE_URL=settings.DINGTALK_SANDBOX_BASE_URL),
    ):
        wait_for(lambda: server.connected(world.app.client_id) == 1, "the console connects")
        alert_to_level_2_to_a_claim_on_every_copy(client, world, escalating)
    (click,) = PushRecord.objects.filter(event_type=card_clicks.EVENT_TYPE)
    assert click.url.endswith(stream.CLIENT_PATH)  # by the Stream, not the card callback URL
