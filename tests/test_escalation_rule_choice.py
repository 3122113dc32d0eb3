"""Every caller that chooses an incident's escalation rule (``rule_for``) chooses it from the
channel's kept rules for its current ``escalation_version``: a reopen, an incident opened by
hand, a split, an assignment to a level, the merge's planning of incidents a failed push left
waiting. A rule change made after the rules were kept must reach each of them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from oncall import lifecycle, merge
from oncall.escalation_rules import levels_of, rule_for
from oncall.models import ActionSource, Channel, EscalationLevel, EscalationRule, Incident
from oncall.timeline import Actor
from tests.factories import AlertFactory, EscalationLevelFactory, EscalationRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_platform")]

Chooser = Callable[[Incident, Actor], Incident]


def closed(incident: Incident, actor: Actor) -> None:
    lifecycle.close(incident, actor)


def reopened(incident: Incident, actor: Actor) -> Incident:
    return lifecycle.reopen(incident, actor).incident


def opened_by_hand(incident: Incident, actor: Actor) -> Incident:
    # As the page does: the channel read for the request, after the rules changed.
    channel = Channel.objects.get(pk=incident.channel_id)
    return lifecycle.open_incident(channel, actor, title="By hand", severity="critical").incident


def split_out(incident: Incident, actor: Actor) -> Incident:
    return lifecycle.split(incident.alerts.order_by("pk").last(), actor).incident


def assigned_to_level_1(incident: Incident, actor: Actor) -> Incident:
    Incident.objects.filter(pk=incident.pk).update(escalation_rule=None)  # it chooses one
    return lifecycle.assign_level(incident, actor, 1).incident


def planned_after_a_failed_push(incident: Incident, actor: Actor) -> Incident:
    with transaction.atomic():
        merge.plan_left_waiting([incident.pk])
    return incident  # planned in the database


CALLERS = [reopened, opened_by_hand, split_out, assigned_to_level_1, planned_after_a_failed_push]
# What a caller needs done first (only a closed incident reopens).
BEFORE: dict[Chooser, Callable[[Incident, Actor], None]] = {reopened: closed}


def prepare(choose: Chooser, incident: Incident, actor: Actor) -> None:
    BEFORE.get(choose, lambda *_: None)(incident, actor)


@pytest.fixture
def alice(responder) -> Actor:
    return Actor(responder, ActionSource.WEB)


@pytest.fixture
def incident(channel, alice) -> Incident:
    incident = lifecycle.open_incident(channel, alice, title="Disk", severity="critical").incident
    AlertFactory(incident=incident)  # a second alert, for the split
    return incident


@pytest.fixture
def second(channel) -> EscalationRule:
    """A rule after the channel's Default rule: chosen once Default is out of the way."""
    rule = EscalationRuleFactory(channel=channel, name="Second", position=1)
    EscalationLevelFactory(rule=rule, escalate_after_minutes=10)
    return rule


def kept_rules_choose(incident: Incident) -> str | None:
    """The rule chosen now, which also keeps the channel's rules for its current version."""
    channel = Channel.objects.get(pk=incident.channel_id)
    chosen = rule_for(incident, channel=channel)
    return chosen.name if chosen else None


def chosen_by(planned: Incident) -> str | None:
    rule = Incident.objects.get(pk=planned.pk).escalation_rule
    return rule.name if rule else None


def take_default_out(channel: Channel, how: str) -> None:
    default = channel.escalation_rules.get(name="Default")
    match how:
        case "rule_saved":
            default.enabled = False
            default.save()
        case "rule_deleted":
            default.delete()
        case "rules_updated":
            EscalationRule.objects.filter(pk=default.pk).update(severities=["info"])


@pytest.mark.parametrize("how", ["rule_saved", "rule_deleted", "rules_updated"])
@pytest.mark.parametrize("choose", CALLERS)
def test_a_rule_change_reaches_the_next_choice_of_every_caller(
    channel, second, alice, incident, how, choose: Chooser
):
    assert kept_rules_choose(incident) == "Default"  # kept for this version

    prepare(choose, incident, alice)
    take_default_out(channel, how)

    assert chosen_by(choose(incident, alice)) == "Second"


@pytest.mark.parametrize("choose", [reopened, opened_by_hand, split_out])
def test_a_level_change_reaches_the_levels_the_chosen_rule_comes_with(
    channel, alice, incident, choose: Chooser
):
    assert kept_rules_choose(incident) == "Default"
    level = EscalationLevel.objects.get(rule__channel=channel)
    prepare(choose, incident, alice)

    level.escalate_after_minutes = 7
    level.save()

    chosen = choose(incident, alice).escalation_rule
    assert [level.escalate_after_minutes for level in levels_of(chosen)] == [7]


def test_without_the_channel_rule_for_reads_it_and_is_not_misled_by_a_stale_copy(
    channel, second, incident
):
    assert kept_rules_choose(incident) == "Default"
    stale = incident.channel  # loaded before the change: its version is the old one

    take_default_out(Channel.objects.get(pk=channel.pk), "rule_saved")

    assert stale.escalation_version != Channel.objects.get(pk=channel.pk).escalation_version
    assert rule_for(incident).name == "Second"


# --- What each caller's choice costs, the rules kept -----------------------------------------

# Statements of the whole action, savepoints included, as ceilings (SQLite, PostgreSQL). While
# callers without the channel chose with a query of the rules they were: reopen 9/9, by hand
# 14/12, split 22/22, assignment to a level 14/14 (which also read the rule's levels), left
# waiting 7/8 (which now reads the channel instead of the rules).
STATEMENTS = {
    "reopened": (8, 8),
    "opened_by_hand": (13, 11),
    "split_out": (21, 21),
    "assigned_to_level_1": (12, 12),
    "planned_after_a_failed_push": (7, 8),
}


@pytest.mark.parametrize("choose", CALLERS)
def test_the_choice_reads_no_rule_while_the_rules_are_kept(
    channel, alice, incident, choose: Chooser
):
    assert kept_rules_choose(incident) == "Default"
    prepare(choose, incident, alice)

    with CaptureQueriesContext(connection) as run:
        planned = choose(incident, alice)

    assert chosen_by(planned) == "Default"
    statements = [query["sql"] for query in run.captured_queries]
    assert not [sql for sql in statements if 'FROM "oncall_escalationrule"' in sql]
    sqlite, postgresql = STATEMENTS[choose.__name__]
    ceiling = sqlite if connection.vendor == "sqlite" else postgresql
    assert len(statements) <= ceiling, "\n".join(statements)
