"""One current card per person, end to end: an Alertmanager alert escalates to a level that
repeats twice; Alice (linked) is left with one live card of the three she received, and
Carol, refused three times as "app not linked", receives one card once she links. Time passes
by moving the planned step into the past (the sweep hands it out).

It runs with tasks inline (any database) and, in the PostgreSQL + Redis stage, with a real
Celery worker."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.models import SentCard
from integrations.feishu.oauth import linking
from integrations.feishu.oauth.provider import FeishuIdentity
from integrations.feishu_sandbox.models import SandboxMessage, SandboxUser
from oncall.models import EscalationLevel, Incident
from tests.factories import AlertSourceFactory, ChannelFactory, EscalationRuleFactory, UserFactory
from tests.feishu.sandbox.test_escalation_e2e import let_the_level_time_out, push_alert
from tests.feishu.sandbox.world import link
from tests.workers import celery_worker, wait_for

SHORT_FORM = "A newer card for this incident was sent below"
REPEATS = 2


@pytest.fixture
def world(console_app, sandbox_app, sandbox_people, live_server):
    """Level 1: Alice (linked) and Carol (not linked), repeated twice."""
    alice = UserFactory(username="alice", first_name="Alice")
    carol = UserFactory(username="carol", first_name="Carol")
    link(alice, console_app, sandbox_app, sandbox_people["alice"])
    channel = ChannelFactory(name="Databases")
    channel.members.add(alice, carol)
    channel.escalation_rules.all().delete()
    rule = EscalationRuleFactory(channel=channel, name="Databases on-call", feishu_app=console_app)
    level = EscalationLevel.objects.create(
        rule=rule,
        position=1,
        escalate_after_minutes=30,
        repeat_every_minutes=5,
        repeat_times=REPEATS,
    )
    level.users.add(alice, carol)
    source = AlertSourceFactory(channel=channel, kind="alertmanager")
    return {
        "app": console_app,
        "sandbox_app": sandbox_app,
        "people": sandbox_people,
        "alice": alice,
        "carol": carol,
        "source": source,
    }


def cards_to(person: SandboxUser) -> list[SandboxMessage]:
    return list(SandboxMessage.objects.filter(user=person, msg_type="interactive").order_by("pk"))


def live_cards(person: SandboxUser) -> list[SandboxMessage]:
    return [m for m in cards_to(person) if SHORT_FORM not in json.dumps(json.loads(m.content))]


def escalate_with_repeats(client, world) -> Incident:
    alice = world["people"]["alice"]
    incident = push_alert(client, world["source"])
    wait_for(lambda: len(cards_to(alice)) == 1, "level 1's card to Alice")
    for repeat in range(2, REPEATS + 2):
        let_the_level_time_out(incident)  # the repeat is due
        wait_for(lambda n=repeat: len(cards_to(alice)) == n, f"repeat {repeat - 1}")
    wait_for(lambda: len(live_cards(alice)) == 1, "the older copies turned into the short form")
    return incident


def carol_links_and_gets_one_card(world, incident: Incident) -> None:
    carol = world["people"]["carol"]
    assert cards_to(carol) == []
    identity = FeishuIdentity.from_user_info(
        {"open_id": world["sandbox_app"].open_id_of(carol), "name": carol.name}
    )
    linking.link(world["carol"], world["app"], identity)
    wait_for(lambda: len(cards_to(carol)) == 1, "Carol's card once she linked")


def the_end_state(world) -> None:
    alice, carol = world["people"]["alice"], world["people"]["carol"]
    assert len(cards_to(alice)) == REPEATS + 1
    assert live_cards(alice) == cards_to(alice)[-1:]
    assert len(cards_to(carol)) == 1  # not one per refusal
    assert SentCard.objects.filter(superseded_at__isnull=True).count() == 2


@pytest.mark.django_db(transaction=True)
def test_repeats_and_a_late_link_leave_one_live_card_each_with_tasks_inline(client, world):
    incident = escalate_with_repeats(client, world)
    carol_links_and_gets_one_card(world, incident)
    the_end_state(world)


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_same_with_a_real_worker(client, world, monkeypatch):
    with celery_worker(monkeypatch):
        incident = escalate_with_repeats(client, world)
        carol_links_and_gets_one_card(world, incident)
        the_end_state(world)
