"""Inhibition rules: a new alert is inhibited while a related open incident's alert fires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from oncall.models import Alert, Incident, InhibitRule
from tests.factories import AlertSourceFactory, ChannelFactory
from tests.payloads import am_alert

pytestmark = pytest.mark.django_db

CRITICAL = [{"key": "severity", "op": "eq", "value": "critical"}]
NOT_CRITICAL = [{"key": "severity", "op": "re", "value": "warning|info"}]


def rule(channel=None, source=None, **fields) -> InhibitRule:
    values = {
        "name": "critical inhibits the rest",
        "new_alert_condition": NOT_CRITICAL,
        "active_condition": CRITICAL,
        "equal": ["labels.instance"],
        **fields,
    }
    made = InhibitRule(channel=channel, source=source, **values)
    made.full_clean()
    made.save()
    return made


def test_it_keeps_and_marks_an_inhibited_alert_with_the_inhibiting_incident(fire, channel):
    made = rule(channel)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning"))

    inhibiting = Incident.objects.get()
    inhibited = Alert.objects.get(alert_key="fp-HighLatency-db-1:9100")
    assert inhibited.incident is None
    assert inhibited.suppressed == Alert.Suppression.INHIBITED
    assert inhibited.suppressed_detail == {
        "rule": made.pk,
        "rule_name": made.name,
        "incident": str(inhibiting.public_id),
        "incident_number": inhibiting.number,
    }
    assert inhibiting.alert_count == 1


def test_a_dropping_rule_keeps_nothing(fire, channel):
    rule(channel, action=InhibitRule.Action.DROP)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning"))
    assert list(Alert.objects.values_list("alert_key", flat=True)) == ["fp-NodeDown-db-1:9100"]
    assert Incident.objects.count() == 1


def test_it_inhibits_only_with_equal_values(fire, channel):
    rule(channel)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning", instance="db-2:9100"))
    assert Incident.objects.count() == 2
    assert not Alert.objects.filter(suppressed__isnull=False).exists()


def test_a_key_missing_from_both_counts_as_equal(fire, channel):
    rule(channel, equal=["labels.rack"])
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning"))
    assert Alert.objects.get(suppressed="inhibited").alert_key == "fp-HighLatency-db-1:9100"


def test_an_alert_not_matching_the_new_alert_condition_is_not_inhibited(fire, channel):
    rule(channel)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("DiskFull", severity="critical"))
    assert Incident.objects.count() == 2


def test_conditions_combine_groups_with_or(fire, channel):
    rule(
        channel,
        new_alert_condition=[
            [{"key": "labels.alertname", "op": "eq", "value": "A"}],
            [{"key": "labels.alertname", "op": "eq", "value": "B"}],
        ],
    )
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("A", severity="warning"), am_alert("B", severity="info"))
    fire(am_alert("C", severity="warning"))
    inhibited = set(Alert.objects.filter(suppressed="inhibited").values_list("title", flat=True))
    assert inhibited == {"A on db-1:9100", "B on db-1:9100"}


def test_the_window_expires(fire, channel):
    rule(channel, window_minutes=10)
    fire(am_alert("NodeDown", severity="critical"))
    Alert.objects.update(last_seen=timezone.now() - timedelta(minutes=11))

    fire(am_alert("HighLatency", severity="warning"))
    assert Incident.objects.count() == 2


def test_an_alert_seen_within_the_window_still_inhibits(fire, channel):
    rule(channel, window_minutes=10)
    fire(am_alert("NodeDown", severity="critical"))
    Alert.objects.update(last_seen=timezone.now() - timedelta(minutes=9))
    fire(am_alert("HighLatency", severity="warning"))
    assert Incident.objects.count() == 1


def test_a_recovered_or_closed_inhibitor_inhibits_nothing(fire, channel):
    rule(channel)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("NodeDown", severity="critical", status="resolved"))  # auto-closes
    fire(am_alert("HighLatency", severity="warning"))
    assert Incident.objects.filter(status="triggered").count() == 1
    assert not Alert.objects.filter(suppressed__isnull=False).exists()


def test_an_alert_the_same_push_opened_inhibits_later_ones(fire, channel):
    rule(channel)
    fire(am_alert("NodeDown", severity="critical"), am_alert("HighLatency", severity="warning"))
    assert Incident.objects.count() == 1
    assert Alert.objects.get(suppressed="inhibited").title == "HighLatency on db-1:9100"


def test_repeats_of_an_inhibited_alert_stay_inhibited_and_are_counted(fire, channel):
    rule(channel)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning"))
    fire(am_alert("HighLatency", severity="warning"))
    inhibited = Alert.objects.get(suppressed="inhibited")
    assert inhibited.event_count == 2
    assert Incident.objects.count() == 1


def test_an_inhibited_alert_opens_its_incident_once_nothing_inhibits_it(fire, channel):
    rule(channel)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning"))
    fire(am_alert("NodeDown", severity="critical", status="resolved"))

    fire(am_alert("HighLatency", severity="warning"))
    released = Alert.objects.get(alert_key="fp-HighLatency-db-1:9100")
    assert released.suppressed is None
    assert released.incident.status == "triggered"
    assert released.event_count == 2


def test_a_recovery_of_an_inhibited_alert_resolves_it_without_incident(fire, channel):
    rule(channel)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning"))
    fire(am_alert("HighLatency", severity="warning", status="resolved"))
    inhibited = Alert.objects.get(suppressed="inhibited")
    assert (inhibited.status, inhibited.incident) == ("resolved", None)


def test_another_channels_incident_does_not_inhibit(fire, channel):
    rule(channel)
    elsewhere = AlertSourceFactory(channel=ChannelFactory())
    fire(am_alert("NodeDown", severity="critical"), to=elsewhere)
    fire(am_alert("HighLatency", severity="warning"))
    assert not Alert.objects.filter(suppressed__isnull=False).exists()


def test_a_source_rule_inhibits_that_sources_alerts(fire, channel, source):
    rule(source=source)
    other = AlertSourceFactory(channel=channel)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning"), to=other)
    assert not Alert.objects.filter(suppressed__isnull=False).exists()
    fire(am_alert("HighLatency", severity="warning"))
    assert Alert.objects.filter(suppressed="inhibited", source=source).count() == 1


def test_a_disabled_rule_inhibits_nothing(fire, channel):
    rule(channel, enabled=False)
    fire(am_alert("NodeDown", severity="critical"))
    fire(am_alert("HighLatency", severity="warning"))
    assert Incident.objects.count() == 2


def test_an_inhibited_alert_notifies_nobody(fire, channel, recording_platform):
    from tests.stub_platform.platform import NOTIFIED_LEVELS

    rule(channel)
    fire(am_alert("NodeDown", severity="critical"))
    notified = list(NOTIFIED_LEVELS)
    assert notified  # the inhibiting incident was notified
    fire(am_alert("HighLatency", severity="warning"))
    assert list(NOTIFIED_LEVELS) == notified


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"channel": None}, "channel or an alert source"),
        ({"new_alert_condition": [], "equal": []}, "condition or keys"),
        ({"equal": ["host"]}, "not a key"),
        ({"active_condition": [[]]}, "Group 1 is empty"),
        ({"active_condition": [{"key": "title", "op": "re", "value": "("}]}, "invalid regex"),
        ({"window_minutes": 0}, "greater than or equal to 1"),
    ],
)
def test_it_refuses_a_rule_that_makes_no_sense(channel, fields, reason):
    values = {"channel": channel, **fields}
    with pytest.raises(ValidationError) as refused:
        rule(**values)
    assert reason in str(refused.value)


def test_equal_keys_may_be_fields_and_oddly_named_labels(fire, channel):
    rule(channel, equal=["labels.app.kubernetes.io/name", "labels.odd__name", "description"])
    odd = {"app.kubernetes.io/name": "db", "odd__name": "x"}
    fire(am_alert("NodeDown", severity="critical", **odd))
    fire(am_alert("Other", severity="warning", **{**odd, "odd__name": "y"}))
    fire(am_alert("HighLatency", severity="warning", **odd))
    inhibited = Alert.objects.filter(suppressed="inhibited").values_list("title", flat=True)
    assert list(inhibited) == ["HighLatency on db-1:9100"]
