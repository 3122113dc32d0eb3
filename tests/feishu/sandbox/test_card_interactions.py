"""Card buttons end to end: the sandbox sends real clicks (signed, encrypted, in both callback
formats) to the console, which acts through the lifecycle service and answers with a toast and
the current card."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.cache import cache
from django.urls import reverse

from integrations.feishu import tasks
from integrations.feishu.cards import delivery
from integrations.feishu.models import FeishuChat, SentCard
from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.models import ApiCall, CallbackFormat, SandboxMessage
from integrations.feishu_sandbox.send import Click, send_card_action
from oncall import lifecycle
from oncall.models import Incident, TimelineEntry
from oncall.timeline import Actor
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link

pytestmark = pytest.mark.django_db(transaction=True)

FORMATS = [CallbackFormat.NEW, CallbackFormat.OLD]
Kind = TimelineEntry.Kind
KIND_OF = {
    "claim": Kind.CLAIMED,
    "unclaim": Kind.UNCLAIMED,
    "close": Kind.CLOSED,
    "reopen": Kind.REOPENED,
    "snooze": Kind.SNOOZED,
    "wake": Kind.WOKEN,
}


@pytest.fixture
def world(console_app, sandbox_app, sandbox_people, sandbox_chat):
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


def click(world, who: str, action: str, *, option=None, fmt=CallbackFormat.NEW):
    value = {"action": action, "incident": str(world["incident"].public_id)}
    tag = "select_static" if option else "button"
    return send_card_action(
        world["app"],
        world["people"][who],
        world["card"],
        Click(tag, value, option),
        callback_format=fmt,
    )


def status(world) -> Incident:
    return Incident.objects.get(pk=world["incident"].pk)


def card_text(answer) -> str:
    return json.dumps(answer.card)


def set_state(world, state: str) -> None:
    actor = Actor(world["users"]["bob"], "api")
    incident = world["incident"]
    if state in ("claimed", "snoozed"):
        lifecycle.claim(incident, actor)
    if state == "snoozed":
        from datetime import timedelta

        lifecycle.snooze(incident, actor, timedelta(hours=1))
    if state == "closed":
        lifecycle.close(incident, actor)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("state", "action", "option", "toast", "after"),
    [
        ("triggered", "claim", None, "Claimed by you.", "Claimed by Alice"),
        ("claimed", "unclaim", None, "Unclaimed: escalation resumes.", "Triggered"),
        ("triggered", "close", None, "Closed.", "Closed by Alice"),
        ("claimed", "close", None, "Closed.", "Closed by Alice"),
        ("closed", "reopen", None, "Reopened: escalation starts again.", "Triggered"),
        (
            "triggered",
            "snooze",
            "2h",
            "Snoozed: escalation pauses until it wakes.",
            "Snoozed until",
        ),
        (
            "snoozed",
            "wake",
            None,
            "Woken up: the current level is notified again.",
            "Claimed by Bob",
        ),
    ],
)
def test_each_action_answers_with_a_toast_and_the_new_card(
    world, fmt, state, action, option, toast, after
):
    set_state(world, state)
    answer = click(world, "alice", action, option=option, fmt=fmt)
    assert not answer.failed, answer
    assert after in card_text(answer)
    if fmt == CallbackFormat.NEW:
        assert answer.toast_type == "success"
        assert answer.toast == toast  # the success wording, not the timeline's message
    entry = status(world).timeline.get(kind=KIND_OF[action], actor=world["users"]["alice"])
    assert entry.source == "feishu"
    assert entry.data["message_id"] == world["card"].message_id
    assert entry.data["via"] == "card"


def pointer_to(node: object, action: str, path: str = "") -> str | None:
    """The JSON pointer of the card's button for ``action``, as the chat page posts it."""
    if isinstance(node, dict):
        value = node.get("value")
        if node.get("tag") == "button" and isinstance(value, dict) and value["action"] == action:
            return path
        children = node.items()
    elif isinstance(node, list):
        children = enumerate(node)
    else:
        return None
    for key, child in children:
        found = pointer_to(child, action, f"{path}/{key}".lstrip("/"))
        if found is not None:
            return found
    return None


def test_a_click_on_the_chat_page_replaces_the_card_with_the_answer(
    world, client, monkeypatch, syncs_held_back
):
    # The sync a click schedules would PATCH the card too: held back, only the page's
    # applying of the answer can change the stored card.
    answers: list[send.CardAnswer] = []
    real_send = send.send_card_action

    def send_and_keep(*args, **kwargs) -> send.CardAnswer:
        answers.append(real_send(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(send, "send_card_action", send_and_keep)
    card = world["card"]
    pointer = pointer_to(json.loads(card.content), "claim")
    url = reverse(
        "feishu_sandbox:client-click", args=[world["people"]["alice"].user_id, card.message_id]
    )

    assert client.post(url, {"element": pointer}).status_code == 302

    (answer,) = answers
    assert answer.card is not None
    assert "Claimed by Alice" in json.dumps(answer.card)
    card.refresh_from_db()
    assert json.loads(card.content) == answer.card
    assert card.update_count == 1
    assert syncs_held_back == [world["incident"].pk]
    assert patches_of(card) == 0


def test_an_unlinked_clicker_is_told_how_to_link_and_nothing_changes(world, console_app):
    answer = click(world, "carol", "claim")
    assert answer.toast_type == "warning"
    assert console_app.web_url in answer.toast
    assert status(world).status == Incident.Status.TRIGGERED


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_linked_clicker_outside_the_channel_gets_the_refusal_alone(world, fmt):
    """The answer shows nothing of another channel's incident: no card, which would carry its
    title, description and labels (the clicked card stays as it was)."""
    incident = world["incident"]
    incident.description = "Primary db-7 lags 40 s behind"
    incident.labels = {"cluster": "payments-eu"}
    incident.save()
    answer = click(world, "dave", "close", fmt=fmt)
    assert answer.card is None
    for secret in ("Replication lag", "db-7", "payments-eu", "Databases"):
        assert secret not in answer.delivery.answer
    if fmt == CallbackFormat.NEW:
        assert answer.toast == "You are not a member of this incident's channel."
        assert answer.toast_type == "warning"
    assert status(world).status == Incident.Status.TRIGGERED


def test_a_stale_card_gets_the_current_card_and_says_what_happened(world):
    set_state(world, "closed")
    answer = click(world, "alice", "claim")
    assert answer.toast_type == "warning"
    assert answer.toast.startswith("Cannot claim: already closed by Bob")
    assert "Closed by Bob" in card_text(answer)


def test_a_second_claim_by_the_same_person_changes_nothing(world):
    click(world, "alice", "claim")
    answer = click(world, "alice", "claim")
    assert answer.toast_type == "info"
    assert answer.toast.startswith("Already claimed by you")
    assert status(world).timeline.filter(kind=TimelineEntry.Kind.CLAIMED).count() == 1


def test_a_claim_by_someone_else_names_who_has_it(world):
    click(world, "bob", "claim")
    answer = click(world, "alice", "claim")
    assert "Bob" in answer.toast
    assert status(world).claimed_by == world["users"]["bob"]


def test_a_snooze_needs_a_duration_from_the_menu(world):
    answer = click(world, "alice", "snooze", option="7 years")
    assert answer.toast_type == "error"
    assert status(world).snoozed_until is None


def test_an_unknown_incident_is_said_plainly(world):
    world["incident"] = IncidentFactory.build(channel=world["incident"].channel)
    answer = click(world, "alice", "claim")
    assert answer.toast == "This incident no longer exists."


@pytest.mark.postgres
def test_two_people_claiming_at_once_one_wins_and_the_other_is_told(world):
    answers = {}

    def claim_as(who: str) -> None:
        answers[who] = click(world, who, "claim")

    threads = [threading.Thread(target=claim_as, args=(w,)) for w in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = status(world).claimed_by.username
    loser = "bob" if winner == "alice" else "alice"
    assert answers[winner].toast == "Claimed by you."
    assert winner.title() in answers[loser].toast
    assert status(world).timeline.filter(kind=TimelineEntry.Kind.CLAIMED).count() == 1


def test_snooze_pauses_escalation_and_wake_notifies_again(world):
    from django.db import transaction
    from django.utils import timezone

    from oncall import escalation

    with transaction.atomic():  # the channel's default rule: its members; level 1 at commit
        incident = Incident.objects.select_for_update().get(pk=world["incident"].pk)
        escalation.plan_start(incident, timezone.now())
    notified = status(world).timeline.filter(kind=Kind.NOTIFIED)
    assert notified.count() == 1
    snoozed = click(world, "alice", "snooze", option="30m")
    assert '"template": "grey"' in card_text(snoozed)
    assert status(world).next_escalation_at is None
    woken = click(world, "bob", "wake")
    assert '"template": "grey"' not in card_text(woken)
    assert notified.count() == 2
    assert status(world).next_escalation_at is not None


@pytest.fixture
def syncs_held_back(monkeypatch) -> list[int]:
    """Card syncs are recorded instead of run (eagerly, before the click is answered), so a
    test runs them when Feishu would: after the answer."""
    scheduled: list[int] = []
    monkeypatch.setattr(
        tasks.sync_cards, "apply_async", lambda args, **_: scheduled.append(args[0])
    )
    return scheduled


def patches_of(message: SandboxMessage) -> int:
    path = f"/open-apis/im/v1/messages/{message.message_id}"
    return ApiCall.objects.filter(method="PATCH", path=path).count()


def second_copy_to_alice(world, console_app) -> SandboxMessage:
    delivery.notify(world["incident"], console_app, [world["users"]["alice"]], [])
    return SandboxMessage.objects.filter(msg_type="interactive").exclude(pk=world["card"].pk).get()


def test_the_sync_after_a_click_patches_the_other_copies_but_not_the_answered_one(
    world, console_app, syncs_held_back
):
    other = second_copy_to_alice(world, console_app)
    click(world, "bob", "claim")
    assert syncs_held_back == [world["incident"].pk]
    assert delivery.sync(world["incident"].pk) == 1
    assert patches_of(world["card"]) == 0  # the answer already shows the claim
    assert patches_of(other) == 1
    other.refresh_from_db()
    assert "Claimed by Bob" in other.content


def test_the_answered_copy_is_patched_when_the_incident_changed_again_before_the_sync(
    world, console_app, syncs_held_back
):
    second_copy_to_alice(world, console_app)
    click(world, "bob", "claim")
    lifecycle.close(world["incident"], Actor(world["users"]["alice"], "api"))
    assert delivery.sync(world["incident"].pk) == 2
    assert patches_of(world["card"]) == 1
    world["card"].refresh_from_db()
    assert "Closed by Alice" in world["card"].content


def test_what_a_click_answered_is_known_after_a_cache_flush(world, console_app, syncs_held_back):
    other = second_copy_to_alice(world, console_app)
    click(world, "bob", "claim")
    cache.clear()  # a Redis restart between the click and its sync, say
    assert delivery.sync(world["incident"].pk) == 1
    assert (patches_of(world["card"]), patches_of(other)) == (0, 1)
    answered = SentCard.objects.get(message_id=world["card"].message_id)
    assert answered.fingerprint == SentCard.objects.get(message_id=other.message_id).fingerprint
