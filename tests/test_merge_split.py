"""Merging incidents and splitting an alert out (``lifecycle.merge`` / ``lifecycle.split``):
the rules, what each side's row and timeline say, escalation, and what ingestion does with the
moved alerts afterwards. The surfaces (page, API, Feishu) are in ``test_merge_split_surfaces``;
real concurrency on PostgreSQL in ``test_merge_concurrency``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from oncall import lifecycle
from oncall.models import ActionSource, Alert, Incident, TimelineEntry
from oncall.timeline import Actor
from oncall.wording import available_actions, display_state, status_line
from tests import payloads
from tests.factories import (
    AlertFactory,
    AlertSourceFactory,
    ChannelFactory,
    IncidentFactory,
    UserFactory,
)

Status = Incident.Status
Kind = TimelineEntry.Kind


@pytest.fixture
def alice(responder):
    return Actor(responder, ActionSource.WEB)


@pytest.fixture
def target(channel):
    incident = IncidentFactory(channel=channel, title="Database down", severity="warning")
    AlertFactory(incident=incident, title="db-1 down", severity="warning")
    return incident


@pytest.fixture
def source(channel):
    incident = IncidentFactory(channel=channel, title="API errors", severity="critical")
    AlertFactory(incident=incident, title="5xx on api-1")
    AlertFactory(incident=incident, title="5xx on api-2")
    return incident


def fresh(incident: Incident) -> Incident:
    return Incident.objects.select_related("merged_into").get(pk=incident.pk)


def entries(incident: Incident, kind: str) -> list[TimelineEntry]:
    return list(incident.timeline.filter(kind=kind))


# --- merge -----------------------------------------------------------------------------------


def test_merge_moves_the_alerts_and_closes_the_source_as_merged_into_the_target(
    target, source, alice
):
    outcome = lifecycle.merge(target, [source], alice)

    assert outcome.changed
    assert outcome.incident.pk == target.pk
    assert outcome.message == f"Merged #{source.number} into #{target.number} (2 alerts moved)"
    assert Alert.objects.filter(incident=target).count() == 3
    assert not Alert.objects.filter(incident=source).exists()
    source = fresh(source)
    assert source.status == Status.CLOSED
    assert source.merged_into_id == target.pk
    assert source.closed_by == alice.user
    assert source.alert_count == 0


def test_the_target_takes_the_most_urgent_severity_the_alert_count_and_the_last_alert(
    target, source, alice
):
    later = timezone.now() + timedelta(minutes=5)
    Incident.objects.filter(pk=source.pk).update(last_alert_at=later)
    Incident.objects.filter(pk=target.pk).update(last_alert_at=timezone.now())

    lifecycle.merge(target, [source], alice)

    target = fresh(target)
    assert target.severity == "critical"  # the source's, more urgent than warning
    assert target.alert_count == 3
    assert target.last_alert_at == later
    assert target.status == Status.TRIGGERED
    assert target.title == "Database down"


def test_both_timelines_say_who_merged_what_from_where(target, source, alice):
    moved = [str(a.public_id) for a in source.alerts.order_by("first_seen", "pk")]

    lifecycle.merge(target, [source], alice)

    (into,) = entries(source, Kind.MERGED_INTO)
    assert (into.actor, into.source) == (alice.user, "web")
    assert into.message == f"Merged into #{target.number} by Alice (2 alerts moved)"
    assert into.data["into"] == target.number
    assert into.data["into_incident"] == str(target.public_id)
    assert into.data["alerts"] == moved
    (merged,) = entries(target, Kind.MERGED)
    assert (merged.actor, merged.source) == (alice.user, "web")
    assert merged.message == f"#{source.number} merged into this incident by Alice (2 alerts moved)"
    assert merged.data["merged"] == [source.number]
    assert merged.data["incidents"] == [str(source.public_id)]
    assert merged.data["alerts"] == moved
    assert merged.data["alert_count"] == 2


def test_several_incidents_merge_at_once(channel, target, source, alice):
    third = IncidentFactory(channel=channel)
    AlertFactory(incident=third)

    outcome = lifecycle.merge(target.public_id, [source.public_id, third.pk], alice)

    assert "(3 alerts moved)" in outcome.message
    assert fresh(target).alert_count == 4
    assert {fresh(source).merged_into_id, fresh(third).merged_into_id} == {target.pk}
    (merged,) = entries(target, Kind.MERGED)
    assert merged.data["merged"] == sorted([source.number, third.number])


def test_merging_again_what_is_already_merged_changes_nothing(target, source, alice):
    lifecycle.merge(target, [source], alice)
    again = lifecycle.merge(target, [source], alice)

    assert not again.changed
    assert again.message == f"#{source.number} already merged into #{target.number}"
    assert len(entries(target, Kind.MERGED)) == 1


def test_an_incident_cannot_be_merged_into_itself(target, alice):
    with pytest.raises(lifecycle.InvalidRequest, match="cannot be merged into itself"):
        lifecycle.merge(target, [target], alice)


def test_merging_nothing_is_refused(target, alice):
    with pytest.raises(lifecycle.InvalidRequest, match="at least one incident"):
        lifecycle.merge(target, [], alice)


def test_a_closed_incident_cannot_be_merged(target, source, alice):
    lifecycle.close(source, alice)
    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.merge(target, [source], alice)
    assert refused.value.message.startswith(
        f"Cannot merge #{source.number}: it was closed by Alice at "
    )
    assert source.alerts.count() == 2  # nothing moved


def test_nothing_merges_into_a_closed_incident(target, source, alice):
    lifecycle.close(target, alice)
    with pytest.raises(lifecycle.TransitionRefused, match=f"Cannot merge into #{target.number}"):
        lifecycle.merge(target, [source], alice)
    assert fresh(source).status == Status.TRIGGERED


def test_nothing_merges_into_a_merged_incident(channel, target, source, alice):
    lifecycle.merge(target, [source], alice)
    other = IncidentFactory(channel=channel)
    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.merge(source, [other], alice)
    assert refused.value.message == (
        f"Cannot merge into #{source.number}: it was merged into #{target.number}"
    )


def test_incidents_of_two_channels_do_not_merge(target, alice):
    elsewhere = ChannelFactory(name="Payments")
    elsewhere.members.add(alice.user)
    stranger = IncidentFactory(channel=elsewhere)
    AlertFactory(incident=stranger)

    with pytest.raises(lifecycle.InvalidRequest, match="only incidents of one channel"):
        lifecycle.merge(target, [stranger], alice)
    assert stranger.alerts.count() == 1


def test_a_non_member_cannot_merge(target, source, outsider):
    with pytest.raises(PermissionDenied):
        lifecycle.merge(target, [source], Actor(outsider, ActionSource.API))
    assert fresh(source).status == Status.TRIGGERED
    assert not source.timeline.exists()


def test_a_member_of_one_channel_cannot_pull_in_an_incident_of_another(target, alice):
    elsewhere = IncidentFactory(channel=ChannelFactory(name="Payments"))
    with pytest.raises(PermissionDenied):
        lifecycle.merge(target, [elsewhere], alice)


def test_the_merged_incidents_escalation_stops_and_the_targets_keeps_its_plan(
    target, source, alice
):
    due = timezone.now() + timedelta(minutes=10)
    rule = target.channel.escalation_rules.get()
    Incident.objects.filter(pk__in=[target.pk, source.pk]).update(
        escalation_rule=rule, next_escalation_at=due
    )

    lifecycle.merge(target, [source], alice)

    assert fresh(source).next_escalation_at is None
    assert fresh(target).next_escalation_at == due


def test_a_merged_incident_ends_its_snooze(target, source, alice):
    lifecycle.snooze(source, alice, timedelta(hours=1))
    lifecycle.merge(target, [source], alice)
    assert fresh(source).snoozed_until is None


def test_a_claimed_target_stays_claimed(target, source, alice):
    lifecycle.claim(target, alice)
    lifecycle.merge(target, [source], alice)
    assert fresh(target).status == Status.ACKNOWLEDGED


def test_a_merged_incident_says_where_it_went_and_offers_no_action(target, source, alice):
    lifecycle.merge(target, [source], alice)
    source = fresh(source)
    now = timezone.now()

    assert status_line(source, now).startswith(f"Merged into #{target.number} by Alice at ")
    assert available_actions(source, display_state(source, now)) == ()


def test_a_merged_incident_cannot_be_reopened_or_acted_on(target, source, alice):
    lifecycle.merge(target, [source], alice)

    with pytest.raises(lifecycle.TransitionRefused, match=f"merged into #{target.number}"):
        lifecycle.reopen(source, alice)
    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.claim(source, alice)
    assert refused.value.message == f"Cannot claim: merged into #{target.number}"


def test_merging_announces_a_change_of_both_incidents(
    target, source, alice, django_capture_on_commit_callbacks
):
    from oncall.signals import incident_changed

    seen = []

    def listener(sender, **named):
        seen.append((named["incident_id"], named["kind"]))

    incident_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.merge(target, [source], alice)
    finally:
        incident_changed.disconnect(listener)
    assert (source.pk, Kind.MERGED_INTO) in seen
    assert (target.pk, Kind.MERGED) in seen


# --- split -----------------------------------------------------------------------------------


def test_split_moves_one_alert_into_a_new_incident_of_the_channel(target, source, alice):
    alert = source.alerts.get(title="5xx on api-2")

    outcome = lifecycle.split(alert, alice)

    new = outcome.incident
    assert outcome.changed
    assert new.pk not in (target.pk, source.pk)
    assert (new.channel, new.title, new.severity) == (source.channel, "5xx on api-2", "critical")
    assert new.status == Status.TRIGGERED
    assert list(new.alerts.all()) == [alert]
    assert new.alert_count == 1
    assert outcome.message == (
        f"Alert “5xx on api-2” split out of #{source.number} into #{new.number}"
    )
    source = fresh(source)
    assert source.alert_count == 1
    assert source.status == Status.TRIGGERED


def test_split_is_recorded_on_both_timelines(source, alice):
    alert = source.alerts.get(title="5xx on api-2")

    new = lifecycle.split(alert.public_id, alice).incident

    (opened,) = entries(new, Kind.CREATED)
    assert opened.actor == alice.user
    assert opened.message == (
        f"Opened by Alice by splitting the alert “5xx on api-2” out of #{source.number}"
    )
    assert opened.data["split_from"] == source.number
    assert opened.data["alert"] == str(alert.public_id)
    (split,) = entries(source, Kind.SPLIT)
    assert split.message == f"Alert “5xx on api-2” split out into #{new.number} by Alice"
    assert split.data["split_into"] == new.number


def test_split_gives_back_the_severity_of_the_alerts_that_stay(channel, alice):
    incident = IncidentFactory(channel=channel, severity="critical")
    AlertFactory(incident=incident, severity="warning")
    loud = AlertFactory(incident=incident, severity="critical")

    lifecycle.split(loud, alice)

    assert fresh(incident).severity == "warning"


def test_the_split_out_incident_escalates_like_a_new_one(source, alice):
    alert = source.alerts.first()
    new = lifecycle.split(alert, alice).incident
    new = fresh(new)
    assert new.escalation_rule == source.channel.escalation_rules.get()
    assert new.next_escalation_at is not None
    assert new.escalation_level == 0


def test_the_only_alert_of_an_incident_is_not_split(target, alice):
    with pytest.raises(lifecycle.TransitionRefused, match="the only alert of"):
        lifecycle.split(target.alerts.get(), alice)
    assert Incident.objects.count() == 1


def test_an_alert_of_a_closed_incident_is_not_split(source, alice):
    lifecycle.close(source, alice)
    with pytest.raises(lifecycle.TransitionRefused, match="Cannot split an alert of"):
        lifecycle.split(source.alerts.first(), alice)


def test_a_non_member_cannot_split(source, outsider):
    with pytest.raises(PermissionDenied):
        lifecycle.split(source.alerts.first(), Actor(outsider, ActionSource.API))
    assert source.alerts.count() == 2


def test_split_undoes_a_merge(target, source, alice):
    lifecycle.merge(target, [source], alice)
    moved = Alert.objects.get(title="5xx on api-1")

    new = lifecycle.split(moved, alice).incident

    assert fresh(target).alert_count == 2
    assert Alert.objects.get(pk=moved.pk).incident_id == new.pk


# --- ingestion after a merge or split ----------------------------------------------------------


@pytest.fixture
def grouped(channel):
    channel.group_by_labels = ["cluster"]
    channel.save()
    return AlertSourceFactory(channel=channel)


def _incident_of(name: str) -> Incident:
    alert = Alert.objects.select_related("incident").get(alert_key__startswith=f"fp-{name}-")
    return alert.incident


def test_new_events_of_a_moved_alert_land_on_the_target(channel, grouped, push, alice):
    push(grouped, payloads.alertmanager(payloads.am_alert("Disk", cluster="a")))
    push(grouped, payloads.alertmanager(payloads.am_alert("Cpu", cluster="b")))
    disk, cpu = _incident_of("Disk"), _incident_of("Cpu")
    lifecycle.merge(disk, [cpu], alice)

    push(grouped, payloads.alertmanager(payloads.am_alert("Cpu", cluster="b")))  # again
    push(grouped, payloads.alertmanager(payloads.am_alert("Cpu", cluster="b", status="resolved")))

    alert = Alert.objects.get(alert_key__startswith="fp-Cpu-")
    assert alert.incident_id == disk.pk
    assert alert.event_count == 3
    assert alert.status == Alert.Status.RESOLVED
    assert entries(disk, Kind.ALERT_RESOLVED)
    assert fresh(cpu).status == Status.CLOSED
    # Nothing after the merge landed on the merged incident.
    assert cpu.timeline.order_by("created_at", "id").last().kind == Kind.MERGED_INTO


def test_a_new_alert_of_a_merged_incidents_group_opens_its_own_incident(
    channel, grouped, push, alice
):
    push(grouped, payloads.alertmanager(payloads.am_alert("Disk", cluster="a")))
    push(grouped, payloads.alertmanager(payloads.am_alert("Cpu", cluster="b")))
    disk, cpu = _incident_of("Disk"), _incident_of("Cpu")
    lifecycle.merge(disk, [cpu], alice)

    push(grouped, payloads.alertmanager(payloads.am_alert("Memory", cluster="b")))

    memory = _incident_of("Memory")
    assert memory.pk not in (disk.pk, cpu.pk)  # the merged one is never reopened nor joined
    assert memory.status == Status.TRIGGERED
    assert fresh(cpu).status == Status.CLOSED


def test_new_alerts_of_the_group_keep_joining_the_incident_an_alert_was_split_from(
    channel, grouped, push, alice
):
    push(
        grouped,
        payloads.alertmanager(
            payloads.am_alert("Disk", cluster="a"), payloads.am_alert("Cpu", cluster="a")
        ),
    )
    original = _incident_of("Disk")
    new = lifecycle.split(Alert.objects.get(alert_key__startswith="fp-Cpu-"), alice).incident

    push(grouped, payloads.alertmanager(payloads.am_alert("Memory", cluster="a")))
    push(grouped, payloads.alertmanager(payloads.am_alert("Cpu", cluster="a")))

    assert _incident_of("Memory").pk == original.pk
    assert _incident_of("Cpu").pk == new.pk  # the split alert's own events follow it


def test_a_storm_merges_with_its_alerts_counted_and_the_first_ones_named(channel, alice):
    target = IncidentFactory(channel=channel)
    storm = IncidentFactory(channel=channel)
    for _ in range(lifecycle.TIMELINE_ALERTS_NAMED + 5):
        AlertFactory(incident=storm)

    lifecycle.merge(target, [storm], alice)

    (merged,) = entries(target, Kind.MERGED)
    assert merged.data["alert_count"] == lifecycle.TIMELINE_ALERTS_NAMED + 5
    assert len(merged.data["alerts"]) == lifecycle.TIMELINE_ALERTS_NAMED
    assert fresh(target).alert_count == lifecycle.TIMELINE_ALERTS_NAMED + 5


def test_a_person_who_lost_membership_cannot_split(source, alice):
    source.channel.members.remove(alice.user)
    other = UserFactory(username="zed")
    with pytest.raises(PermissionDenied):
        lifecycle.split(source.alerts.first(), Actor(other, ActionSource.WEB))
    with pytest.raises(PermissionDenied):
        lifecycle.split(source.alerts.first(), alice)


@pytest.mark.django_db(transaction=True)
def test_the_split_out_incident_notifies_level_1_once_committed(channel, settings):
    from tests.stub_platform.platform import NOTIFIED_LEVELS as notified_levels
    from tests.stub_platform.platform import RECORDING

    settings.CHAT_PLATFORMS = [RECORDING]
    notified_levels.clear()
    user = UserFactory(username="alice", first_name="Alice")
    channel.members.add(user)
    incident = IncidentFactory(channel=channel)
    AlertFactory(incident=incident)
    alert = AlertFactory(incident=incident)

    new = lifecycle.split(alert, Actor(user, ActionSource.WEB)).incident

    first = channel.escalation_rules.get().levels.order_by("position").first()
    # The step task ran (eagerly here) once the split committed.
    assert notified_levels == [(new.pk, first.position)]
    assert new.timeline.filter(kind=Kind.NOTIFIED).exists()


# --- an alert that arrives between reading what to lock and holding the locks ------------------


def test_a_merge_that_never_gets_its_locks_right_is_refused_and_changes_nothing(
    target, source, alice, monkeypatch
):
    monkeypatch.setattr(lifecycle, "_lock_alerts_and_groups", lambda *a, **k: set())

    with pytest.raises(lifecycle.TransitionRefused, match="try again in a moment"):
        lifecycle.merge(target, [source], alice)

    assert fresh(source).status == Status.TRIGGERED
    assert source.alerts.count() == 2
    assert not TimelineEntry.objects.exists()
