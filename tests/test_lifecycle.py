from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from oncall import lifecycle
from oncall.models import ActionSource, Incident, TimelineEntry
from oncall.signals import incident_changed
from oncall.timeline import Actor
from tests.factories import ChannelFactory, IncidentFactory, UserFactory

Status = Incident.Status
Kind = TimelineEntry.Kind


@pytest.fixture
def incident(channel):
    return IncidentFactory(channel=channel)


@pytest.fixture
def alice(responder):
    return Actor(responder, ActionSource.WEB)


@pytest.fixture
def bob(channel):
    user = UserFactory(username="bob", first_name="Bob")
    channel.members.add(user)
    return Actor(user, ActionSource.API)


def kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.values_list("kind", flat=True))


def test_it_claims_a_triggered_incident_and_records_who_and_where(incident, alice):
    outcome = lifecycle.claim(incident, alice)

    incident.refresh_from_db()
    assert outcome.changed
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.claimed_by == alice.user
    assert incident.claimed_at is not None
    entry = incident.timeline.get()
    assert (entry.kind, entry.actor, entry.source) == (Kind.CLAIMED, alice.user, "web")
    assert entry.message == "Claimed by Alice"


def test_the_outcome_comes_with_its_channel_read_under_the_lock(
    incident, alice, django_assert_num_queries
):
    outcome = lifecycle.claim(incident.public_id, alice)  # nothing read by the caller
    with django_assert_num_queries(0):
        assert outcome.incident.channel.name == incident.channel.name


def test_it_accepts_incident_by_public_id_and_by_pk(incident, alice, bob):
    lifecycle.claim(incident.public_id, alice)
    lifecycle.unclaim(incident.pk, bob)
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert kinds(incident) == [Kind.CLAIMED, Kind.UNCLAIMED]


def test_a_second_claim_by_the_same_person_changes_nothing(incident, alice):
    lifecycle.claim(incident, alice)
    again = lifecycle.claim(incident, alice)
    assert not again.changed
    assert again.message.startswith("Already claimed by you")
    assert kinds(incident) == [Kind.CLAIMED]


def test_a_claim_of_someone_elses_incident_is_refused_naming_the_winner(incident, alice, bob):
    lifecycle.claim(incident, alice)
    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.claim(incident, bob)
    assert refused.value.message.startswith("Already claimed by Alice at ")
    assert refused.value.incident.claimed_by == alice.user


def test_it_refuses_to_claim_a_closed_incident(incident, alice, bob):
    lifecycle.close(incident, bob)
    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.claim(incident, alice)
    assert refused.value.message.startswith("Cannot claim: already closed by Bob at ")
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    assert incident.claimed_by is None


def test_it_refuses_to_unclaim_an_unclaimed_incident(incident, alice):
    with pytest.raises(lifecycle.TransitionRefused, match="Nobody has claimed"):
        lifecycle.unclaim(incident, alice)
    assert kinds(incident) == []


def test_unclaim_returns_the_incident_to_triggered(incident, alice, bob):
    lifecycle.claim(incident, alice)
    outcome = lifecycle.unclaim(incident, bob)
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert incident.claimed_by is None
    assert outcome.message == "Unclaimed by Bob (was Alice)"


def test_closing_twice_tells_who_closed_it_first(incident, alice, bob):
    lifecycle.close(incident, alice)
    second = lifecycle.close(incident, bob)
    assert not second.changed
    assert second.message.startswith("Already closed by Alice at ")
    incident.refresh_from_db()
    assert incident.closed_by == alice.user
    assert kinds(incident) == [Kind.CLOSED]


def test_close_ends_a_snooze(incident, alice):
    lifecycle.snooze(incident, alice, timedelta(hours=1))
    lifecycle.close(incident, alice)
    incident.refresh_from_db()
    assert incident.snoozed_until is None
    assert incident.status == Status.CLOSED


def test_reopen_brings_a_closed_incident_back_to_triggered(incident, alice, bob):
    lifecycle.claim(incident, alice)
    lifecycle.close(incident, alice)
    lifecycle.reopen(incident, bob)
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert (incident.claimed_by, incident.closed_by, incident.closed_at) == (None, None, None)
    assert kinds(incident) == [Kind.CLAIMED, Kind.CLOSED, Kind.REOPENED]


def test_it_refuses_to_reopen_an_open_incident(incident, alice):
    with pytest.raises(lifecycle.TransitionRefused, match="This incident is open"):
        lifecycle.reopen(incident, alice)


def test_snooze_sets_the_wake_up_time(incident, alice):
    before = timezone.now()
    outcome = lifecycle.snooze(incident, alice, timedelta(hours=2))
    incident.refresh_from_db()
    assert (
        before + timedelta(hours=2) <= incident.snoozed_until <= timezone.now() + timedelta(hours=2)
    )
    assert incident.is_snoozed
    assert outcome.message == "Snoozed by Alice for 2 h"


@pytest.mark.parametrize("duration", [timedelta(seconds=30), timedelta(hours=25)])
def test_it_refuses_snooze_durations_out_of_range(incident, alice, duration):
    with pytest.raises(lifecycle.InvalidRequest, match="from 1 minute to 24 h"):
        lifecycle.snooze(incident, alice, duration)
    incident.refresh_from_db()
    assert incident.snoozed_until is None


def test_the_longest_snooze_follows_the_setting(incident, alice, settings):
    settings.SNOOZE_MAX_MINUTES = 48 * 60
    lifecycle.snooze(incident, alice, timedelta(hours=30))
    incident.refresh_from_db()
    assert incident.snoozed_until > timezone.now() + timedelta(hours=29)


def test_it_refuses_to_snooze_a_closed_incident(incident, alice):
    lifecycle.close(incident, alice)
    with pytest.raises(lifecycle.TransitionRefused, match="Cannot snooze"):
        lifecycle.snooze(incident, alice, timedelta(hours=1))


def test_wake_ends_a_snooze_and_names_the_person(incident, alice):
    lifecycle.snooze(incident, alice, timedelta(hours=1))
    outcome = lifecycle.wake(incident, alice)
    incident.refresh_from_db()
    assert incident.snoozed_until is None
    assert outcome.message == "Woken by Alice"


def test_it_refuses_to_wake_an_incident_that_is_not_snoozed(incident, alice):
    with pytest.raises(lifecycle.TransitionRefused, match="not snoozed"):
        lifecycle.wake(incident, alice)


def test_a_planned_wake_up_leaves_a_later_snooze_alone(incident, alice):
    lifecycle.snooze(incident, alice, timedelta(hours=1))
    incident.refresh_from_db()
    first_until = incident.snoozed_until
    lifecycle.snooze(incident, alice, timedelta(hours=4))
    outcome = lifecycle.wake(incident, Actor.system(), if_snoozed_until=first_until)
    incident.refresh_from_db()
    assert not outcome.changed
    assert incident.snoozed_until > first_until


def test_claiming_a_snoozed_incident_ends_the_snooze(incident, alice):
    lifecycle.snooze(incident, alice, timedelta(hours=1))
    lifecycle.claim(incident, alice)
    incident.refresh_from_db()
    assert incident.snoozed_until is None


def test_people_outside_the_channel_may_not_act(incident, outsider):
    with pytest.raises(PermissionDenied):
        lifecycle.claim(incident, Actor(outsider, ActionSource.WEB))
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert kinds(incident) == []


def test_members_of_a_channel_team_may_act(incident, outsider):
    from django.contrib.auth.models import Group

    team = Group.objects.create(name="SRE")
    team.user_set.add(outsider)
    incident.channel.teams.add(team)
    assert lifecycle.claim(incident, Actor(outsider, ActionSource.WEB)).changed


def test_superusers_may_act_on_any_channel(incident):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert lifecycle.close(incident, Actor(admin, ActionSource.WEB)).changed


def test_the_system_closes_without_a_person(incident):
    outcome = lifecycle.close(incident, Actor.system(), reason="every alert recovered")
    assert outcome.message == "Closed by system: every alert recovered"
    entry = incident.timeline.get()
    assert (entry.actor, entry.source) == (None, "system")


def test_changes_are_announced_after_commit(incident, alice, django_capture_on_commit_callbacks):
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    incident_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            lifecycle.claim(incident, alice)
        assert heard == []  # nothing is announced before the transaction commits
        for callback in callbacks:
            callback()
    finally:
        incident_changed.disconnect(listener)
    [announced] = heard
    committed = announced.pop("incident")
    assert announced == {
        "signal": incident_changed,
        "incident_id": incident.pk,
        "kind": "claimed",
        "actor_id": alice.user.pk,
        "source": "web",
    }
    # The instance as the change left it, so receivers can decide without reading it again.
    assert committed.pk == incident.pk
    assert committed.status == Incident.Status.ACKNOWLEDGED
    assert committed.claimed_by == alice.user


def test_a_receiver_that_raises_is_logged_and_the_others_still_hear(
    incident, alice, django_capture_on_commit_callbacks, caplog
):
    heard = []

    def broken(sender, **kwargs):
        raise RuntimeError("the card refresh is down")

    def listener(sender, **kwargs):
        heard.append(kwargs["kind"])

    incident_changed.connect(broken)
    incident_changed.connect(listener)  # after the broken one: receivers run in order
    try:
        with (
            caplog.at_level(logging.ERROR, logger="oncall.signals"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            outcome = lifecycle.claim(incident, alice)
    finally:
        incident_changed.disconnect(broken)
        incident_changed.disconnect(listener)
    assert outcome.changed
    assert heard == ["claimed"]
    [failure] = [r for r in caplog.records if r.name == "oncall.signals"]
    assert "<locals>.broken failed on incident" in failure.getMessage()
    assert isinstance(failure.exc_info[1], RuntimeError)


def test_the_feishu_message_an_action_came_from_is_kept(incident, responder):
    actor = Actor(responder, "feishu", {"feishu_message_id": "om_123"})
    lifecycle.claim(incident, actor)
    entry = incident.timeline.get()
    assert entry.source == "feishu"
    assert entry.data == {"feishu_message_id": "om_123"}


@pytest.mark.parametrize(
    "who",
    ["member", "team member", "member elsewhere", "outsider", "superuser", "inactive member"],
)
def test_who_may_act_on_a_channel_is_who_may_see_it(channel, who):
    from django.contrib.auth.models import Group

    from oncall.permissions import can_act_on_channel, visible_channels

    other = ChannelFactory(name="Payments")
    user = UserFactory(username="u", is_superuser=who == "superuser")
    team = Group.objects.create(name="SRE")
    team.user_set.add(user)
    (channel if who == "team member" else other).teams.add(team)
    if who in ("member", "inactive member"):
        channel.members.add(user)
    if who == "member elsewhere":
        other.members.add(user)
    if who == "inactive member":
        user.is_active = False
        user.save()
    may_act = can_act_on_channel(user, channel.pk)
    assert may_act == visible_channels(user).filter(pk=channel.pk).exists()
    assert may_act is (who in ("member", "team member", "superuser"))
    # The lifecycle service reads the same rule with the row it locks (one query, not two).
    incident = IncidentFactory(channel=channel)
    if may_act:
        lifecycle.claim(incident, Actor(user, "web"))
        assert Incident.objects.get(pk=incident.pk).claimed_by == user
    else:
        with pytest.raises(PermissionDenied, match="not a member of this incident's channel"):
            lifecycle.claim(incident, Actor(user, "web"))
        assert Incident.objects.get(pk=incident.pk).status == Incident.Status.TRIGGERED
