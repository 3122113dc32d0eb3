"""The bot's incident commands (``integrations.feishu.inbound.incident_commands``), through
``chat_commands.answer`` as the message task calls it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.utils import timezone

from integrations.feishu.inbound import chat_commands
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.inbound.identity import how_to_link
from integrations.feishu.models import CardDelivery, LinkedAccount, SentCard
from oncall.models import Incident, TimelineEntry
from tests.factories import (
    ChannelFactory,
    FeishuAppFactory,
    FeishuChatFactory,
    IncidentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Status = Incident.Status
_ids = count(1)


@pytest.fixture
def app():
    return FeishuAppFactory(name="Ops")


@pytest.fixture
def alice(app):
    user = UserFactory(username="alice", first_name="Alice", last_name="Chen")
    LinkedAccount.objects.create(user=user, app=app, open_id="ou_alice")
    return user


@pytest.fixture
def bob(app):
    user = UserFactory(username="bob", first_name="Bob", last_name="Li")
    LinkedAccount.objects.create(user=user, app=app, open_id="ou_bob")
    return user


@pytest.fixture
def channel(alice, bob):
    channel = ChannelFactory(name="Databases")
    channel.members.add(alice, bob)
    return channel


@pytest.fixture
def incident(channel):
    return IncidentFactory(channel=channel, title="Disk full on db-1")


def say(app, text, *, sender="ou_alice", chat_type="p2p", parent_id="") -> str:
    message = IncomingMessage(
        message_id=f"om_msg{next(_ids)}",
        chat_id="oc_chat",
        chat_type=chat_type,
        sender_open_id=sender,
        text=text,
        parent_id=parent_id,
    )
    return chat_commands.answer(app, message)


def fresh(incident: Incident) -> Incident:
    incident.refresh_from_db()
    return incident


# --- claim, unclaim, close, reopen, snooze, wake ---------------------------------------------


def test_claim_claims_a_triggered_incident(app, alice, incident):
    assert say(app, f"claim {incident.number}") == f"#{incident.number} Claimed by Alice Chen"
    incident = fresh(incident)
    assert (incident.status, incident.claimed_by) == (Status.ACKNOWLEDGED, alice)


def test_claim_accepts_the_number_with_a_hash_and_a_mention(app, alice, incident):
    answer = say(app, f"@_user_1 claim #{incident.number}", chat_type="group")
    assert answer == f"#{incident.number} Claimed by Alice Chen"


def test_claim_is_case_insensitive_and_takes_a_slash(app, alice, incident):
    assert "Claimed by Alice Chen" in say(app, f"/CLAIM {incident.number}")


def test_claim_of_an_incident_claimed_by_someone_else_names_the_claimer(app, bob, incident):
    say(app, f"claim {incident.number}", sender="ou_bob")
    answer = say(app, f"claim {incident.number}")
    assert answer.startswith(f"#{incident.number} Already claimed by Bob Li at ")
    assert fresh(incident).claimed_by == bob


def test_claim_twice_by_the_same_person_changes_nothing(app, alice, incident):
    say(app, f"claim {incident.number}")
    assert "Already claimed by you" in say(app, f"claim {incident.number}")
    assert TimelineEntry.objects.filter(incident=incident, kind="claimed").count() == 1


def test_claim_of_a_closed_incident_is_refused(app, alice, incident):
    say(app, f"close {incident.number}")
    assert "Cannot claim: already closed by Alice Chen" in say(app, f"claim {incident.number}")


def test_claim_ends_a_snooze(app, alice, incident):
    say(app, f"snooze {incident.number} 2h")
    say(app, f"claim {incident.number}")
    assert fresh(incident).snoozed_until is None


def test_unclaim_gives_the_incident_back(app, alice, bob, incident):
    say(app, f"claim {incident.number}", sender="ou_bob")
    answer = say(app, f"unclaim {incident.number}")
    assert answer == f"#{incident.number} Unclaimed by Alice Chen (was Bob Li)"
    assert fresh(incident).status == Status.TRIGGERED


def test_unclaim_of_an_unclaimed_incident_is_refused(app, alice, incident):
    answer = say(app, f"unclaim {incident.number}")
    assert answer == f"#{incident.number} Nobody has claimed this incident"


def test_close_closes_and_twice_says_so(app, alice, incident):
    assert say(app, f"close {incident.number}") == f"#{incident.number} Closed by Alice Chen"
    assert fresh(incident).status == Status.CLOSED
    assert "Already closed by Alice Chen at" in say(app, f"close {incident.number}")


def test_reopen_reopens_a_closed_incident(app, alice, incident):
    say(app, f"close {incident.number}")
    assert say(app, f"reopen {incident.number}") == f"#{incident.number} Reopened by Alice Chen"
    assert fresh(incident).status == Status.TRIGGERED


def test_reopen_of_an_open_incident_is_refused(app, alice, incident):
    answer = say(app, f"reopen {incident.number}")
    assert answer == f"#{incident.number} This incident is open (triggered)"


@pytest.mark.parametrize(
    ("duration", "minutes"),
    [("30m", 30), ("1h", 60), ("2h", 120), ("4h", 240), ("12h", 720), ("24h", 1440)],
)
def test_snooze_takes_each_menu_duration(app, alice, incident, duration, minutes):
    before = timezone.now()
    answer = say(app, f"snooze {incident.number} {duration}")
    assert answer.startswith(f"#{incident.number} Snoozed by Alice Chen for ")
    until = fresh(incident).snoozed_until
    assert (
        before + timedelta(minutes=minutes) <= until <= timezone.now() + timedelta(minutes=minutes)
    )


def test_snooze_takes_any_duration_the_parser_reads(app, alice, incident):
    assert say(app, f"snooze #{incident.number} 1h30m").endswith("for 1 h 30 min")


@pytest.mark.parametrize("duration", ["25h", "2d", "0m"])
def test_snooze_refuses_durations_out_of_range(app, alice, incident, duration):
    answer = say(app, f"snooze {incident.number} {duration}")
    assert answer == f"#{incident.number} A snooze lasts from 1 minute to 24 h"
    assert fresh(incident).snoozed_until is None


def test_snooze_follows_the_configured_maximum(app, alice, incident, settings):
    settings.SNOOZE_MAX_MINUTES = 60
    assert "A snooze lasts from 1 minute to 1 h" in say(app, f"snooze {incident.number} 2h")
    assert "(30m, 1h)" in say(app, f"snooze {incident.number}")


def test_snooze_refuses_what_is_not_a_duration(app, alice, incident):
    answer = say(app, f"snooze {incident.number} soon")
    assert answer == "'soon' is not a duration: write e.g. 30m, 2h, 1h30m or 1d"
    assert fresh(incident).snoozed_until is None


@pytest.mark.parametrize("text", ["snooze {n}", "snooze {n} 2h 3h", "snooze"])
def test_snooze_without_exactly_one_duration_explains_itself(app, alice, incident, text):
    answer = say(app, text.format(n=incident.number))
    assert answer.startswith("Write “snooze N 2h” with the incident's number and a duration")
    assert "30m, 1h, 2h, 4h, 12h, 24h" in answer


def test_snooze_of_a_closed_incident_is_refused(app, alice, incident):
    say(app, f"close {incident.number}")
    assert "Cannot snooze: already closed" in say(app, f"snooze {incident.number} 2h")


def test_wake_ends_a_snooze(app, alice, incident):
    say(app, f"snooze {incident.number} 2h")
    assert say(app, f"wake {incident.number}") == f"#{incident.number} Woken by Alice Chen"
    assert fresh(incident).snoozed_until is None


def test_wake_of_an_awake_incident_is_refused(app, alice, incident):
    assert say(app, f"wake {incident.number}") == f"#{incident.number} This incident is not snoozed"


# --- who may act on what ---------------------------------------------------------------------


def test_an_unlinked_sender_is_told_how_to_link(app, incident):
    for text in (f"claim {incident.number}", "list", f"snooze {incident.number} 2h"):
        assert say(app, text, sender="ou_stranger") == how_to_link(app)
    assert fresh(incident).status == Status.TRIGGERED


def test_a_sender_linked_in_another_app_only_is_unlinked_here(app, alice, incident):
    other = FeishuAppFactory()
    assert say(other, f"claim {incident.number}") == how_to_link(other)


def test_a_deactivated_user_is_treated_as_unlinked(app, alice, incident):
    alice.is_active = False
    alice.save()
    assert say(app, f"claim {incident.number}") == how_to_link(app)


def test_an_incident_of_another_channel_is_not_revealed(app, alice):
    hidden = IncidentFactory(channel=ChannelFactory(name="Payments"))
    assert say(app, f"claim {hidden.number}") == f"No incident #{hidden.number} that you can see."
    assert say(app, "claim 999999") == "No incident #999999 that you can see."
    assert fresh(hidden).status == Status.TRIGGERED


def test_a_superuser_acts_on_every_channel(app, incident):
    root = UserFactory(username="root", is_superuser=True)
    LinkedAccount.objects.create(user=root, app=app, open_id="ou_root")
    assert "Claimed by root" in say(app, f"claim {incident.number}", sender="ou_root")


def test_a_command_without_a_number_outside_a_card_reply_explains_itself(app, alice, incident):
    answer = say(app, "claim")
    assert answer == "Write “claim N” with the incident's number, or reply “claim” to its card."
    assert "Write “close N”" in say(app, "close soon")


def test_unknown_words_and_help_give_the_help_text(app, alice):
    for text in ("help", "frobnicate 3", ""):
        answer = say(app, text)
        assert "snooze N 2h" in answer
        assert "reopen N" in answer
        assert "list:" in answer


# --- replying to an incident's card ----------------------------------------------------------


def delivered(incident, chat, *message_ids: str) -> CardDelivery:
    """``incident``'s card sent to ``chat`` as the messages ``message_ids``, a minute apart."""
    row = CardDelivery.objects.create(incident=incident, app=chat.app, chat=chat, sent=1)
    first = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    for minutes, message_id in enumerate(message_ids):
        at = first + timedelta(minutes=minutes)
        SentCard.objects.create(delivery=row, message_id=message_id, sent_at=at, updated_at=at)
    return row


@pytest.fixture
def card(app, incident):
    return delivered(incident, FeishuChatFactory(app=app), "om_earlier", "om_card")


def test_a_reply_to_the_card_needs_no_number(app, alice, incident, card):
    answer = say(app, "@_user_1 claim", chat_type="group", parent_id="om_card")
    assert answer == f"#{incident.number} Claimed by Alice Chen"
    assert fresh(incident).claimed_by == alice


def test_a_reply_to_an_earlier_copy_of_the_card_works_too(app, alice, incident, card):
    say(app, "@_user_1 snooze 2h", chat_type="group", parent_id="om_earlier")
    assert fresh(incident).snoozed_until is not None


def test_a_number_wins_over_the_card_replied_to(app, alice, channel, incident, card):
    other = IncidentFactory(channel=channel)
    say(app, f"@_user_1 close {other.number}", chat_type="group", parent_id="om_card")
    assert (fresh(other).status, fresh(incident).status) == (Status.CLOSED, Status.TRIGGERED)


def test_a_reply_to_another_message_asks_for_the_number(app, alice, card):
    answer = say(app, "@_user_1 wake", chat_type="group", parent_id="om_something_else")
    assert answer.startswith("Write “wake N”")


def test_a_card_of_another_app_is_not_found(app, alice, incident):
    delivered(incident, FeishuChatFactory(), "om_x")
    assert say(app, "claim", chat_type="group", parent_id="om_x").startswith("Write “claim N”")


def test_an_id_that_only_contains_the_parent_does_not_match(app, alice, incident):
    delivered(incident, FeishuChatFactory(app=app), "om_card_2")
    assert say(app, "claim", parent_id="om_card").startswith("Write “claim N”")


def test_a_non_member_replying_to_the_card_is_told_the_channel(app, incident, card):
    carol = UserFactory(username="carol")
    LinkedAccount.objects.create(user=carol, app=app, open_id="ou_carol")
    answer = say(app, "@_user_1 claim", sender="ou_carol", chat_type="group", parent_id="om_card")
    assert answer == f"You are not a member of the channel Databases of #{incident.number}."
    assert fresh(incident).status == Status.TRIGGERED
    assert not TimelineEntry.objects.filter(incident=incident, kind="claimed").exists()


# --- the timeline ----------------------------------------------------------------------------


def test_each_action_records_the_actor_feishu_and_the_message(app, alice, incident):
    number = incident.number
    for text in (f"claim {number}", f"snooze {number} 1h", f"wake {number}", f"unclaim {number}"):
        say(app, text)
    say(app, f"close {number}")
    say(app, f"reopen {number}")
    entries = TimelineEntry.objects.filter(incident=incident).order_by("id")
    kinds = [e.kind for e in entries]
    assert kinds == ["claimed", "snoozed", "woken", "unclaimed", "closed", "reopened"]
    message_ids = [e.data["message_id"] for e in entries]
    assert all(m.startswith("om_msg") for m in message_ids)
    assert len(set(message_ids)) == len(message_ids)
    for entry in entries:
        assert (entry.actor, entry.source) == (alice, "feishu")
        assert entry.data["via"] == "chat command"
        assert entry.data["app"] == str(app.public_id)


def test_the_timeline_names_the_message_of_a_card_reply(app, alice, incident, card):
    message = IncomingMessage(
        "om_reply", "oc_chat", "group", "ou_alice", "@_user_1 close", "om_card"
    )
    chat_commands.answer(app, message)
    entry = TimelineEntry.objects.get(incident=incident, kind="closed")
    assert entry.data["message_id"] == "om_reply"


# --- list ------------------------------------------------------------------------------------


def hhmm(moment) -> str:
    """How ``wording.moment`` writes a time: the clock today, with the date on another day."""
    local = timezone.localtime(moment)
    return local.strftime("%H:%M" if local.date() == timezone.localdate() else "%Y-%m-%d %H:%M")


def test_list_shows_each_state(app, alice, bob, channel):
    now = timezone.now()
    triggered = IncidentFactory(channel=channel, title="Disk full on db-1", severity="critical")
    claimed = IncidentFactory(
        channel=channel,
        severity="warning",
        status=Status.ACKNOWLEDGED,
        claimed_by=bob,
        claimed_at=now,
    )
    snoozed = IncidentFactory(
        channel=channel, severity="info", snoozed_until=now + timedelta(hours=2)
    )
    lines = say(app, "list").splitlines()
    # The words of the cards and pages (oncall.wording.status_line), most urgent first.
    assert lines[0] == f"#{triggered.number} [critical] Disk full on db-1 — Triggered"
    assert lines[1] == (
        f"#{claimed.number} [warning] {claimed.title} — Claimed by Bob Li at {hhmm(now)}"
    )
    until = hhmm(snoozed.snoozed_until)
    assert lines[2] == f"#{snoozed.number} [info] {snoozed.title} — Snoozed until {until}"


def test_list_leaves_out_closed_incidents_and_other_channels(app, alice, channel):
    IncidentFactory(channel=channel, status=Status.CLOSED)
    IncidentFactory(channel=ChannelFactory())
    assert say(app, "list") == "No open incidents in your channels."


def test_list_puts_unclaimed_first_then_the_most_urgent_then_the_newest(app, alice, channel):
    now = timezone.now()

    def make(severity, minutes_ago, **fields):
        created = now - timedelta(minutes=minutes_ago)
        return IncidentFactory(channel=channel, severity=severity, created_at=created, **fields)

    claimed_critical = make("critical", 1, status=Status.ACKNOWLEDGED, claimed_by=alice)
    old_warning = make("warning", 50)
    new_info = make("info", 2)
    old_critical = make("critical", 60)
    new_critical = make("critical", 5)
    snoozed = make("critical", 3, snoozed_until=now + timedelta(hours=1))
    expired_snooze = make("warning", 10, snoozed_until=now - timedelta(minutes=1))
    numbers = [int(line.split()[0][1:]) for line in say(app, "list").splitlines()]
    expected = [new_critical, old_critical, expired_snooze, old_warning, new_info]
    expected += [claimed_critical, snoozed]
    assert numbers == [i.number for i in expected]


def test_list_shows_ten_and_counts_the_rest(app, alice, channel):
    incidents = [IncidentFactory(channel=channel) for _ in range(13)]
    lines = say(app, "list").splitlines()
    assert len(lines) == 11
    assert lines[-1] == "and 3 more"
    assert lines[0].startswith(f"#{incidents[-1].number} ")


def test_list_of_exactly_ten_has_no_more_line(app, alice, channel):
    for _ in range(10):
        IncidentFactory(channel=channel)
    lines = say(app, "list").splitlines()
    assert len(lines) == 10
    assert not lines[-1].startswith("and ")


def test_list_shortens_long_titles_to_one_line(app, alice, channel):
    IncidentFactory(channel=channel, title="x" * 200 + "\nsecond line")
    (line,) = say(app, "list").splitlines()
    assert line.count("x") == 79
    assert "…" in line
