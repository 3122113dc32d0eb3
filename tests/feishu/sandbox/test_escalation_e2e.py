"""Issue #5 end to end against the sandbox on a live server: an Alertmanager alert becomes an
incident, level 1's cards reach two people and a group, nobody claims it, level 2 follows after
its timeout, a claim updates every copy, and level 3 never comes.

It runs twice: with tasks run inline (any database), and, in the PostgreSQL + Redis stage, with
a real Celery worker, which is also killed mid-escalation and replaced: the sweep resumes the
escalation and nobody is notified twice. Time passes by moving the planned step into the past.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from integrations.feishu.cards import delivery
from integrations.feishu.models import CardDelivery, FeishuChat
from integrations.feishu_sandbox.models import ApiCall, SandboxMessage, SandboxUser
from oncall import escalation, lifecycle
from oncall.models import EscalationLevel, Incident
from oncall.timeline import Actor
from tests import payloads
from tests.factories import AlertSourceFactory, ChannelFactory, EscalationRuleFactory, UserFactory
from tests.feishu.sandbox.world import link
from tests.workers import celery_worker, wait_for


@pytest.fixture
def world(console_app, sandbox_app, sandbox_people, sandbox_chat, live_server):
    """Alice and Bob (level 1, with the SRE group), Carol (level 2), Dave (level 3)."""
    users = {}
    for key in ("alice", "bob", "carol", "dave"):
        users[key] = UserFactory(username=key, first_name=key.title())
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    channel = ChannelFactory(name="Databases")
    channel.members.add(*users.values())
    channel.escalation_rules.all().delete()
    rule = EscalationRuleFactory(channel=channel, name="Databases on-call", feishu_app=console_app)
    group = FeishuChat.objects.create(
        app=console_app, chat_id=sandbox_chat.chat_id, name=sandbox_chat.name
    )
    first = EscalationLevel.objects.create(rule=rule, position=1, escalate_after_minutes=5)
    first.users.add(users["alice"], users["bob"])
    first.feishu_chats.add(group)
    EscalationLevel.objects.create(rule=rule, position=2, escalate_after_minutes=5).users.add(
        users["carol"]
    )
    EscalationLevel.objects.create(rule=rule, position=3, escalate_after_minutes=5).users.add(
        users["dave"]
    )
    source = AlertSourceFactory(channel=channel, kind="alertmanager")
    return {"users": users, "people": sandbox_people, "chat": sandbox_chat, "source": source}


def cards_to(person: SandboxUser) -> int:
    return SandboxMessage.objects.filter(user=person, msg_type="interactive").count()


def all_cards() -> list[SandboxMessage]:
    return list(SandboxMessage.objects.filter(msg_type="interactive"))


def push_alert(client, source) -> Incident:
    body = payloads.alertmanager(payloads.am_alert("ReplicationLag"))
    response = client.post(f"/push/{source.token}", data=body, content_type="application/json")
    assert response.status_code == 200
    return wait_for(lambda: Incident.objects.filter(channel=source.channel).first(), "an incident")


def let_the_level_time_out(incident: Incident) -> None:
    """The level's minutes have passed: the planned step is overdue, the sweep hands it out."""
    incident.refresh_from_db()
    assert incident.next_escalation_at is not None
    overdue = timezone.now() - timedelta(minutes=1)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=overdue)
    escalation.sweep()


def let_the_lost_sends_stall() -> None:
    """Long enough has passed for a send still owed to count as lost: its sweep hands it out."""
    stalled = timezone.now() - timedelta(seconds=settings.FEISHU_DELIVERY_REQUEUE_SECONDS + 1)
    CardDelivery.objects.filter(sent__lt=F("requested")).update(updated_at=stalled)
    delivery.resend_stalled()


def let_the_lost_syncs_lapse() -> None:
    """Long enough has passed for a card sync the killed worker held (planned a second after
    its last send, so lost with it) to stop holding off the syncs of later changes: until then
    a change relies on that sync, which never runs."""
    time.sleep(delivery.SYNC_PLANNED_SECONDS)


def level_1(client, world) -> Incident:
    people = world["people"]
    incident = push_alert(client, world["source"])
    wait_for(
        lambda: (
            cards_to(people["alice"]) == cards_to(people["bob"]) == 1
            and SandboxMessage.objects.filter(chat=world["chat"]).count() == 1
        ),
        "level 1's cards to Alice, Bob and the SRE group",
    )
    assert cards_to(people["carol"]) == 0
    return incident


def level_2_after_the_timeout(world, incident: Incident) -> None:
    let_the_level_time_out(incident)
    wait_for(lambda: cards_to(world["people"]["carol"]) == 1, "level 2's card to Carol")


def claim_updates_every_copy_and_level_3_never_comes(world, incident: Incident) -> None:
    people = world["people"]
    lifecycle.claim(incident, Actor(world["users"]["carol"], "api"))
    wait_for(
        lambda: all("Claimed by Carol" in json.dumps(json.loads(m.content)) for m in all_cards()),
        "every copy of the card to show the claim",
    )
    assert len(all_cards()) == 4
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    assert escalation.sweep() == 0
    assert cards_to(people["dave"]) == 0
    assert cards_to(people["alice"]) == cards_to(people["bob"]) == 1


@pytest.mark.django_db(transaction=True)
def test_alert_to_cards_to_level_2_to_claim_with_tasks_inline(client, world):
    incident = level_1(client, world)
    level_2_after_the_timeout(world, incident)
    claim_updates_every_copy_and_level_3_never_comes(world, incident)


def patches() -> dict[str, int]:
    """PATCH calls per sent copy."""
    return {
        m.message_id: ApiCall.objects.filter(
            method="PATCH", path=f"/open-apis/im/v1/messages/{m.message_id}"
        ).count()
        for m in all_cards()
    }


@pytest.mark.django_db(transaction=True)
def test_a_cache_flush_mid_escalation_changes_nothing_anyone_sees(client, world):
    # The cache (Redis) is flushed after the cards were sent and again before the claim:
    # "this incident has sent cards", "a sync is planned" and the rendered card are gone.
    incident = level_1(client, world)
    cache.clear()
    level_2_after_the_timeout(world, incident)
    before_the_claim = patches()
    cache.clear()
    claim_updates_every_copy_and_level_3_never_comes(world, incident)
    assert {m: n - before_the_claim[m] for m, n in patches().items()} == dict.fromkeys(
        before_the_claim, 1
    )
    cache.clear()
    assert delivery.sync(incident.pk) == 0  # every copy is known to show the claim


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_same_with_a_real_worker_that_is_killed_mid_escalation(client, world, monkeypatch):
    # The workers call the sandbox on the live server, as the console_app fixture set it.
    with celery_worker(monkeypatch) as worker:
        incident = level_1(client, world)
        # Killed while it holds level 2's step (a task with an eta): that task is lost, and
        # so may be a send whose card Feishu took but the console had not written down yet.
        worker.kill()
        worker.wait(timeout=30)
    let_the_lost_syncs_lapse()
    with celery_worker(monkeypatch):
        let_the_lost_sends_stall()  # their sweep sends them again, once
        level_2_after_the_timeout(world, incident)  # the sweep re-plans the lost step
        claim_updates_every_copy_and_level_3_never_comes(world, incident)
    # Nobody was notified twice across the two workers.
    assert [cards_to(world["people"][k]) for k in ("alice", "bob", "carol")] == [1, 1, 1]


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_cards_are_sent_and_updated_by_a_worker_dedicated_to_the_cards_queue(
    client, world, monkeypatch
):
    # The tasks a task sends go through the queues, as in production.
    queued = {"CELERY_TASK_ALWAYS_EAGER": "false"}
    # The worker of the default queue cannot reach the sandbox: every card that arrives was
    # sent, and every copy updated, by the worker of the cards queue.
    unreachable = {**queued, "FEISHU_SANDBOX_BASE_URL": "http://127.0.0.1:9/sandbox/feishu"}
    queue = "test-dedicated"
    with (
        celery_worker(monkeypatch, queue=queue, consume=("default",), **unreachable),
        celery_worker(monkeypatch, queue=queue, consume=("cards",), **queued),
    ):
        incident = level_1(client, world)
        level_2_after_the_timeout(world, incident)
        claim_updates_every_copy_and_level_3_never_comes(world, incident)
