"""What Feishu reports to ``/metrics`` through the platform contract: cards sent, cards that
will not arrive and why, attempts retried, and card clicks with their outcome and latency;
against the sandbox (its fault injection plays Feishu's 5xx answers)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from integrations.feishu.cards import delivery
from integrations.feishu.models import CardDelivery, FeishuChat
from integrations.feishu_sandbox.models import Fault, SandboxMessage
from integrations.feishu_sandbox.send import Click, send_card_action
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link

pytestmark = pytest.mark.django_db(transaction=True)


class Counts:
    """Samples of the in-process registry, as differences from when this was made."""

    def __init__(self) -> None:
        self.start = {self._key(s): s.value for m in REGISTRY.collect() for s in m.samples}

    @staticmethod
    def _key(sample) -> tuple:
        return sample.name, frozenset(sample.labels.items())

    def since(self, name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        now = REGISTRY.get_sample_value(name, labels) or 0.0
        return now - self.start.get(key, 0.0)


@pytest.fixture
def people(console_app, sandbox_app, sandbox_people):
    """alice and bob linked to their sandbox selves; carol not linked; dave linked, no member."""
    users = {key: UserFactory(username=key, first_name=key.title()) for key in sandbox_people}
    for key in ("alice", "bob", "dave"):
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    return users


@pytest.fixture
def incident(people):
    channel = ChannelFactory(name="Databases")
    channel.members.add(people["alice"], people["bob"], people["carol"])
    return IncidentFactory(channel=channel, title="Replication lag")


@pytest.fixture
def group(console_app, sandbox_chat):
    return FeishuChat.objects.create(
        app=console_app, chat_id=sandbox_chat.chat_id, name=sandbox_chat.name
    )


FAILED = "oncall_notifications_failed_total"
SENT = "oncall_notifications_sent_total"
RETRIES = "oncall_notification_retries_total"


def test_cards_sent_and_people_without_a_linked_account_are_counted(
    console_app, incident, people, group
):
    counts = Counts()
    delivery.notify(incident, console_app, [people["alice"], people["bob"], people["carol"]], [])
    delivery.notify(incident, console_app, [people["carol"]], [group])
    assert counts.since(SENT, platform="feishu") == 3  # alice, bob, the group
    assert counts.since(FAILED, platform="feishu", reason="not_linked") == 2  # carol, twice


def test_a_chat_the_bot_has_left_is_counted_as_bot_not_in_chat(
    console_app, sandbox_app, incident, group, sandbox_chat
):
    sandbox_chat.bots.remove(sandbox_app)  # Feishu answers 230002 to the send
    counts = Counts()
    delivery.notify(incident, console_app, [], [group])
    assert CardDelivery.objects.get(chat=group).state == CardDelivery.State.BOT_NOT_IN_CHAT
    assert counts.since(FAILED, platform="feishu", reason="bot_not_in_chat") == 1
    assert counts.since(SENT, platform="feishu") == 0


def test_5xx_answers_count_as_retries_then_as_a_failure_after_the_last_attempt(
    console_app, incident, people
):
    Fault.objects.create(path_prefix="/open-apis/im/v1/messages", status=500, remaining=100)
    row = CardDelivery.objects.create(
        incident=incident, app=console_app, user=people["alice"], requested=1
    )
    counts = Counts()
    for _ in range(delivery.MAX_SEND_ATTEMPTS):
        delivery.send_many([row.pk])
    row.refresh_from_db()
    assert row.state == CardDelivery.State.FAILED
    retried = delivery.MAX_SEND_ATTEMPTS - 1
    assert counts.since(RETRIES, platform="feishu", reason="transient_error") == retried
    assert counts.since(FAILED, platform="feishu", reason="transient_error") == 1
    assert counts.since(SENT, platform="feishu") == 0


# --- Card clicks --------------------------------------------------------------------------------


@pytest.fixture
def card(console_app, sandbox_app, incident, group, sandbox_chat):
    """The incident's card, sent to the group; clicks on it reach the console."""
    sandbox_app.card_request_url = console_app.card_callback_url
    sandbox_app.save()
    delivery.notify(incident, console_app, [], [group])
    return SandboxMessage.objects.get(chat=sandbox_chat, msg_type="interactive")


def click(sandbox_app, sandbox_people, card, incident, who: str, action: str, option=None):
    value = {"action": action, "incident": str(incident.public_id)}
    tag = "select_static" if option else "button"
    return send_card_action(sandbox_app, sandbox_people[who], card, Click(tag, value, option))


CLICKS = "oncall_card_callbacks_total"
SECONDS = "oncall_card_callback_seconds"


def test_card_clicks_are_counted_by_action_and_outcome_with_their_latency(
    sandbox_app, sandbox_people, card, incident
):
    counts = Counts()

    def clicked(who: str, action: str, option: str | None = None) -> None:
        answer = click(sandbox_app, sandbox_people, card, incident, who, action, option)
        assert not answer.failed, answer

    clicked("alice", "claim")  # changed
    clicked("alice", "claim")  # already claimed by her: unchanged
    clicked("dave", "close")  # not a member of the channel: refused
    clicked("alice", "snooze", "7 years")  # no such duration: invalid
    clicked("alice", "launch")  # no such button: refused, as an unknown action

    def outcome(action: str, result: str) -> float:
        return counts.since(CLICKS, platform="feishu", action=action, outcome=result)

    assert outcome("claim", "changed") == 1
    assert outcome("claim", "unchanged") == 1
    assert outcome("close", "refused") == 1
    assert outcome("snooze", "invalid") == 1
    assert outcome("unknown", "refused") == 1
    assert counts.since(f"{SECONDS}_count", platform="feishu", action="claim") == 2
    assert counts.since(f"{SECONDS}_sum", platform="feishu", action="claim") > 0
    # Feishu's 3 s: every one of these clicks was answered well within it.
    assert counts.since(f"{SECONDS}_bucket", platform="feishu", action="claim", le="3.0") == 2


def test_a_click_whose_handler_fails_is_counted_as_failed(
    sandbox_app, sandbox_people, card, incident, monkeypatch
):
    from integrations.feishu.inbound import endpoint

    def broken(action):
        raise RuntimeError("the handler's bug")

    monkeypatch.setitem(endpoint.CARD_ACTIONS, "close", broken)
    counts = Counts()
    answer = click(sandbox_app, sandbox_people, card, incident, "alice", "close")
    assert answer.toast_type == "error"
    assert counts.since(CLICKS, platform="feishu", action="close", outcome="failed") == 1
