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
from integrations.feishu.models import SentCard
from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.models import ApiCall, CallbackFormat, SandboxMessage
from integrations.feishu_sandbox.send import Click, send_card_action
from oncall import lifecycle
from oncall.models import Incident, TimelineEntry
from oncall.timeline import Actor
from tests.factories import IncidentFactory

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


def click(card_world, who: str, action: str, *, option=None, fmt=CallbackFormat.NEW):
    value = {"action": action, "incident": str(card_world["incident"].public_id)}
    tag = "select_static" if option else "button"
    return send_card_action(
        card_world["app"],
        card_world["people"][who],
        card_world["card"],
        Click(tag, value, option),
        callback_format=fmt,
    )


def status(card_world) -> Incident:
    return Incident.objects.get(pk=card_world["incident"].pk)


def card_text(answer) -> str:
    return json.dumps(answer.card)


def set_state(card_world, state: str) -> None:
    actor = Actor(card_world["users"]["bob"], "api")
    incident = card_world["incident"]
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
    card_world, fmt, state, action, option, toast, after
):
    set_state(card_world, state)
    answer = click(card_world, "alice", action, option=option, fmt=fmt)
    assert not answer.failed, answer
    assert after in card_text(answer)
    if fmt == CallbackFormat.NEW:
        assert answer.toast_type == "success"
        assert answer.toast == toast  # the success wording, not the timeline's message
    entry = status(card_world).timeline.get(
        kind=KIND_OF[action], actor=card_world["users"]["alice"]
    )
    assert entry.source == "feishu"
    assert entry.data["message_id"] == card_world["card"].message_id
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
    card_world, client, monkeypatch, syncs_held_back
):
    # The sync a click schedules would PATCH the card too: held back, only the page's
    # applying of the answer can change the stored card.
    answers: list[send.CardAnswer] = []
    real_send = send.send_card_action

    def send_and_keep(*args, **kwargs) -> send.CardAnswer:
        answers.append(real_send(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(send, "send_card_action", send_and_keep)
    card = card_world["card"]
    pointer = pointer_to(json.loads(card.content), "claim")
    url = reverse(
        "feishu_sandbox:client-click", args=[card_world["people"]["alice"].user_id, card.message_id]
    )

    assert client.post(url, {"element": pointer}).status_code == 302

    (answer,) = answers
    assert answer.card is not None
    assert "Claimed by Alice" in json.dumps(answer.card)
    card.refresh_from_db()
    assert json.loads(card.content) == answer.card
    assert card.update_count == 1
    assert syncs_held_back == [card_world["incident"].pk]
    assert patches_of(card) == 0


def test_an_unlinked_clicker_is_told_how_to_link_and_nothing_changes(card_world, console_app):
    answer = click(card_world, "carol", "claim")
    assert answer.toast_type == "warning"
    assert console_app.web_url in answer.toast
    assert status(card_world).status == Incident.Status.TRIGGERED


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_linked_clicker_outside_the_channel_gets_the_refusal_alone(card_world, fmt):
    """The answer shows nothing of another channel's incident: no card, which would carry its
    title, description and labels (the clicked card stays as it was)."""
    incident = card_world["incident"]
    incident.description = "Primary db-7 lags 40 s behind"
    incident.labels = {"cluster": "payments-eu"}
    incident.save()
    answer = click(card_world, "dave", "close", fmt=fmt)
    assert answer.card is None
    for secret in ("Replication lag", "db-7", "payments-eu", "Databases"):
        assert secret not in answer.delivery.answer
    if fmt == CallbackFormat.NEW:
        assert answer.toast == "You are not a member of this incident's channel."
        assert answer.toast_type == "warning"
    assert status(card_world).status == Incident.Status.TRIGGERED


def test_a_stale_card_gets_the_current_card_and_says_what_happened(card_world):
    set_state(card_world, "closed")
    answer = click(card_world, "alice", "claim")
    assert answer.toast_type == "warning"
    assert answer.toast.startswith("Cannot claim: already closed by Bob")
    assert "Closed by Bob" in card_text(answer)


def test_a_second_claim_by_the_same_person_changes_nothing(card_world):
    click(card_world, "alice", "claim")
    answer = click(card_world, "alice", "claim")
    assert answer.toast_type == "info"
    assert answer.toast.startswith("Already claimed by you")
    assert status(card_world).timeline.filter(kind=TimelineEntry.Kind.CLAIMED).count() == 1


def test_a_claim_by_someone_else_names_who_has_it(card_world):
    click(card_world, "bob", "claim")
    answer = click(card_world, "alice", "claim")
    assert "Bob" in answer.toast
    assert status(card_world).claimed_by == card_world["users"]["bob"]


def test_a_snooze_needs_a_duration_from_the_menu(card_world):
    answer = click(card_world, "alice", "snooze", option="7 years")
    assert answer.toast_type == "error"
    assert status(card_world).snoozed_until is None


def test_an_unknown_incident_is_said_plainly(card_world):
    card_world["incident"] = IncidentFactory.build(channel=card_world["incident"].channel)
    answer = click(card_world, "alice", "claim")
    assert answer.toast == "This incident no longer exists."


@pytest.mark.postgres
def test_two_people_claiming_at_once_one_wins_and_the_other_is_told(card_world):
    answers = {}

    def claim_as(who: str) -> None:
        answers[who] = click(card_world, who, "claim")

    threads = [threading.Thread(target=claim_as, args=(w,)) for w in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = status(card_world).claimed_by.username
    loser = "bob" if winner == "alice" else "alice"
    assert answers[winner].toast == "Claimed by you."
    assert winner.title() in answers[loser].toast
    assert status(card_world).timeline.filter(kind=TimelineEntry.Kind.CLAIMED).count() == 1


def test_snooze_pauses_escalation_and_wake_notifies_again(card_world):
    from django.db import transaction
    from django.utils import timezone

    from oncall import escalation

    with transaction.atomic():  # the channel's default rule: its members; level 1 at commit
        incident = Incident.objects.select_for_update().get(pk=card_world["incident"].pk)
        escalation.plan_start(incident, timezone.now())
    notified = status(card_world).timeline.filter(kind=Kind.NOTIFIED)
    assert notified.count() == 1
    snoozed = click(card_world, "alice", "snooze", option="30m")
    assert '"template": "grey"' in card_text(snoozed)
    assert status(card_world).next_escalation_at is None
    woken = click(card_world, "bob", "wake")
    assert '"template": "grey"' not in card_text(woken)
    assert notified.count() == 2
    assert status(card_world).next_escalation_at is not None


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


def second_copy_to_alice(card_world, console_app) -> SandboxMessage:
    delivery.notify(card_world["incident"], console_app, [card_world["users"]["alice"]], [])
    return (
        SandboxMessage.objects.filter(msg_type="interactive")
        .exclude(pk=card_world["card"].pk)
        .get()
    )


def test_the_sync_after_a_click_patches_the_other_copies_but_not_the_answered_one(
    card_world, console_app, syncs_held_back
):
    other = second_copy_to_alice(card_world, console_app)
    click(card_world, "bob", "claim")
    assert syncs_held_back == [card_world["incident"].pk]
    assert delivery.sync(card_world["incident"].pk) == 1
    assert patches_of(card_world["card"]) == 0  # the answer already shows the claim
    assert patches_of(other) == 1
    other.refresh_from_db()
    assert "Claimed by Bob" in other.content


def test_the_answered_copy_is_patched_when_the_incident_changed_again_before_the_sync(
    card_world, console_app, syncs_held_back
):
    second_copy_to_alice(card_world, console_app)
    click(card_world, "bob", "claim")
    lifecycle.close(card_world["incident"], Actor(card_world["users"]["alice"], "api"))
    assert delivery.sync(card_world["incident"].pk) == 2
    assert patches_of(card_world["card"]) == 1
    card_world["card"].refresh_from_db()
    assert "Closed by Alice" in card_world["card"].content


def test_what_a_click_answered_is_known_after_a_cache_flush(
    card_world, console_app, syncs_held_back
):
    other = second_copy_to_alice(card_world, console_app)
    click(card_world, "bob", "claim")
    cache.clear()  # a Redis restart between the click and its sync, say
    assert delivery.sync(card_world["incident"].pk) == 1
    assert (patches_of(card_world["card"]), patches_of(other)) == (0, 1)
    answered = SentCard.objects.get(message_id=card_world["card"].message_id)
    assert answered.fingerprint == SentCard.objects.get(message_id=other.message_id).fingerprint
