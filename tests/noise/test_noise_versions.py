"""Silences and inhibit rules are compiled once per version of their owner's rules
(``Channel.noise_version``, ``AlertSource.noise_version``): every way of writing them must
reach the next merge, or a worker would keep judging alerts by rules that no longer exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall.models import Alert, AlertSource, Channel, InhibitRule, Silence
from oncall.noise.silences import channel_silences
from tests.payloads import am_alert

pytestmark = pytest.mark.django_db

WRITE_PATHS = ["save", "delete", "queryset_update", "queryset_delete", "bulk_create", "bulk_update"]


def team(name: str) -> list[dict[str, str]]:
    return [{"key": "labels.team", "op": "eq", "value": name}]


def silence(channel: Channel, condition: list, **fields) -> Silence:
    now = timezone.now()
    times = {"starts_at": now - timedelta(minutes=1), "ends_at": now + timedelta(hours=1)}
    made = Silence(channel=channel, name="deploy", condition=condition, **{**times, **fields})
    made.full_clean()
    made.save()
    return made


def silenced(alert_name: str) -> bool:
    alert = Alert.objects.get(labels__alertname=alert_name)
    return alert.suppressed == Alert.Suppression.SILENCED


# --- Silences -----------------------------------------------------------------------------------


@pytest.mark.parametrize("change", WRITE_PATHS)
def test_every_way_of_changing_silences_reaches_the_next_merge(fire, channel, change):
    kept = silence(channel, team("db"))
    fire(am_alert("First", team="db"))
    assert silenced("First")  # the channel's silences compiled, and kept for this version

    probe_team, expected = "db", False
    match change:
        case "save":
            kept.condition = team("web")
            kept.save()
        case "delete":
            kept.delete()
        case "queryset_update":
            Silence.objects.filter(pk=kept.pk).update(enabled=False)
        case "queryset_delete":
            Silence.objects.filter(channel=channel).delete()
        case "bulk_create":
            now = timezone.now()
            Silence.objects.bulk_create(
                [
                    Silence(
                        channel=channel,
                        name="web",
                        ends_at=now + timedelta(hours=1),
                        condition=team("web"),
                    )
                ]
            )
            probe_team, expected = "web", True
        case "bulk_update":
            kept.condition = team("web")
            Silence.objects.bulk_update([kept], ["condition"])

    fire(am_alert("Probe", team=probe_team))
    assert silenced("Probe") is expected


def test_a_silence_moved_to_another_channel_leaves_both_current(fire, channel, source):
    other = Channel.objects.create(name="Other")
    moved = silence(other, team("db"))
    fire(am_alert("First", team="db"))
    assert not silenced("First")  # this channel's (empty) silences compiled and kept

    moved.channel = channel
    moved.save()

    fire(am_alert("Probe", team="db"))
    assert silenced("Probe")


def test_saving_a_channel_loaded_before_its_silences_changed_keeps_the_new_version(fire, channel):
    stale = Channel.objects.get(pk=channel.pk)
    fire(am_alert("First", team="db"))  # no silences: compiled and kept for this version
    silence(channel, team("db"))

    stale.description = "edited in another tab"
    stale.save()  # must not write back the version it loaded, whose silences are kept

    fire(am_alert("Probe", team="db"))
    assert silenced("Probe")
    assert Channel.objects.get(pk=channel.pk).description == "edited in another tab"


def test_a_push_merged_late_sees_the_silences_of_its_own_moment(channel):
    """Compiled silences leave out one-time silences already over; a push received before
    one ended, and merged after, must still be judged by it."""
    now = timezone.now()
    ended = silence(
        channel, [], starts_at=now - timedelta(hours=1), ends_at=now - timedelta(minutes=5)
    )
    current = Channel.objects.get(pk=channel.pk)

    assert [c.silence.pk for c in channel_silences(current, now)] == []
    earlier = now - timedelta(minutes=10)
    assert [c.silence.pk for c in channel_silences(current, earlier)] == [ended.pk]


# --- Inhibit rules -------------------------------------------------------------------------------


def inhibit_rule(owner: Channel | AlertSource, new_severity: str) -> InhibitRule:
    owned = {"channel": owner} if isinstance(owner, Channel) else {"source": owner}
    made = InhibitRule(
        name=f"critical inhibits {new_severity}",
        new_alert_condition=[{"key": "severity", "op": "eq", "value": new_severity}],
        active_condition=[{"key": "severity", "op": "eq", "value": "critical"}],
        equal=["labels.instance"],
        **owned,
    )
    made.full_clean()
    made.save()
    return made


def inhibited(alert_name: str) -> bool:
    alert = Alert.objects.get(labels__alertname=alert_name)
    return alert.suppressed == Alert.Suppression.INHIBITED


@pytest.mark.parametrize("owner", ["channel", "source"])
@pytest.mark.parametrize("change", WRITE_PATHS)
def test_every_way_of_changing_inhibit_rules_reaches_the_next_merge(
    fire, channel, source, owner, change
):
    owning = channel if owner == "channel" else source
    kept = inhibit_rule(owning, "warning")
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("First", severity="warning"))
    assert inhibited("First")  # the rules compiled, and kept for their owner's version

    probe_severity, expected = "warning", False
    match change:
        case "save":
            kept.enabled = False
            kept.save()
        case "delete":
            kept.delete()
        case "queryset_update":
            InhibitRule.objects.filter(pk=kept.pk).update(enabled=False)
        case "queryset_delete":
            InhibitRule.objects.filter(pk=kept.pk).delete()
        case "bulk_create":
            added = InhibitRule(
                name="critical inhibits info",
                new_alert_condition=[{"key": "severity", "op": "eq", "value": "info"}],
                active_condition=[{"key": "severity", "op": "eq", "value": "critical"}],
                equal=["labels.instance"],
                **{owner: owning},
            )
            InhibitRule.objects.bulk_create([added])
            probe_severity, expected = "info", True
        case "bulk_update":
            kept.enabled = False
            InhibitRule.objects.bulk_update([kept], ["enabled"])

    fire(am_alert("Probe", severity=probe_severity))
    assert inhibited("Probe") is expected


def test_saving_a_source_loaded_before_its_inhibit_rules_changed_keeps_the_new_version(
    fire, source
):
    stale = AlertSource.objects.get(pk=source.pk)
    fire(am_alert("NodeDown", severity="critical"))  # no rules: compiled and kept
    inhibit_rule(source, "warning")

    stale.description = "edited in another tab"
    stale.save()

    fire(am_alert("Probe", severity="warning"))
    assert inhibited("Probe")
