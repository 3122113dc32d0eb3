"""Grouping branches (first matching branch's labels; the channel's as the default) and strict
grouping (an empty label value is different from every other, or the same)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from oncall.models import Alert, Incident
from tests.payloads import am_alert

pytestmark = pytest.mark.django_db

DB = [{"key": "labels.team", "op": "eq", "value": "db"}]


def incident_of(title: str) -> int:
    return Alert.objects.get(title=title).incident_id


def configure(channel, **fields) -> None:
    for name, value in fields.items():
        setattr(channel, name, value)
    channel.full_clean()
    channel.save()


def test_the_first_matching_branch_gives_the_labels(fire, channel):
    configure(
        channel,
        group_by_labels=["alertname"],
        grouping_branches=[
            {"condition": DB, "group_by": ["cluster"]},
            {"condition": [{"key": "labels.team", "op": "exists"}], "group_by": ["instance"]},
        ],
    )
    fire(
        am_alert("A", team="db", cluster="eu", instance="x"),
        am_alert("B", team="db", cluster="eu", instance="y"),
        am_alert("C", team="web", cluster="eu", instance="x"),
        am_alert("D", team="web", cluster="us", instance="x"),
    )
    assert incident_of("A on x") == incident_of("B on y")  # branch 1: same cluster
    assert incident_of("C on x") == incident_of("D on x")  # branch 2: same instance
    assert incident_of("A on x") != incident_of("C on x")
    assert Incident.objects.count() == 2


def test_an_alert_no_branch_takes_groups_by_the_default(fire, channel):
    configure(
        channel,
        group_by_labels=["alertname"],
        grouping_branches=[{"condition": DB, "group_by": ["cluster"]}],
    )
    fire(am_alert("A", instance="x"), am_alert("A", instance="y"), am_alert("B", instance="z"))
    assert incident_of("A on x") == incident_of("A on y") != incident_of("B on z")


def test_branches_with_equal_labels_do_not_share_incidents(fire, channel):
    """Two branches grouping by the same labels stay apart: each is its own kind of alert."""
    configure(
        channel,
        grouping_branches=[
            {"condition": DB, "group_by": ["cluster"]},
            {
                "condition": [{"key": "labels.team", "op": "eq", "value": "web"}],
                "group_by": ["cluster"],
            },
        ],
    )
    fire(am_alert("A", team="db", cluster="eu"), am_alert("B", team="web", cluster="eu"))
    assert Incident.objects.count() == 2


def test_a_branch_with_no_labels_gives_each_alert_its_incident(fire, channel):
    configure(
        channel,
        group_by_labels=["cluster"],
        grouping_branches=[{"condition": DB, "group_by": []}],
    )
    fire(
        am_alert("A", team="db", cluster="eu"),
        am_alert("B", team="db", cluster="eu"),
        am_alert("C", cluster="eu"),
        am_alert("D", cluster="eu"),
    )
    assert Incident.objects.count() == 3


def test_without_strict_grouping_empty_values_group_together(fire, channel):
    configure(channel, group_by_labels=["cluster"])
    fire(am_alert("A"), am_alert("B"), am_alert("C", cluster=""))
    assert Incident.objects.count() == 1


def test_strict_grouping_gives_an_empty_value_its_own_incident(fire, channel):
    configure(channel, group_by_labels=["cluster", "alertname"], strict_grouping=True)
    fire(am_alert("A"), am_alert("A", instance="other"), am_alert("B", cluster=""))
    fire(am_alert("C", cluster="eu", instance="x"), am_alert("C", cluster="eu", instance="y"))
    assert Incident.objects.count() == 4
    assert incident_of("C on x") == incident_of("C on y")


def test_repeats_of_a_strictly_ungrouped_alert_merge_into_it(fire, channel):
    configure(channel, group_by_labels=["cluster"], strict_grouping=True)
    fire(am_alert("A"))
    fire(am_alert("A"))
    assert (Incident.objects.count(), Alert.objects.get().event_count) == (1, 2)


@pytest.mark.parametrize(
    ("branches", "reason"),
    [
        ({"condition": DB}, "list of"),
        ([{"group_by": ["x"]}], "give it a condition"),
        ([{"condition": DB, "group_by": "x"}], "list of label names"),
        ([{"condition": DB, "group_by": ["x"], "extra": 1}], "condition and group_by"),
        ([{"condition": [{"key": "nope"}], "group_by": ["x"]}], "Matcher 1: key must be"),
    ],
)
def test_it_refuses_branches_that_make_no_sense(channel, branches, reason):
    with pytest.raises(ValidationError) as refused:
        configure(channel, grouping_branches=branches)
    assert reason in str(refused.value)
