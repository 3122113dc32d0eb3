"""A channel's escalation rules and levels are kept per process for its ``escalation_version``
(``oncall.escalation_rules``): every way of writing them must reach the next merge and the next
escalation step, or a worker would escalate by rules that no longer exist."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oncall import tasks
from oncall.models import (
    EscalationLevel,
    EscalationRule,
    InboundEvent,
    Incident,
    NotificationTemplate,
)
from oncall.models import TimelineEntry as Entry
from tests import payloads
from tests.factories import (
    AlertSourceFactory,
    IncidentFactory,
    ScheduleFactory,
    ScheduleLayerFactory,
    UserFactory,
    api_as,
)

pytestmark = pytest.mark.django_db

WRITE_PATHS = ["save", "delete", "queryset_update", "queryset_delete", "bulk_create", "bulk_update"]


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


@pytest.fixture
def fire(push, source):
    """A new incident per call (a new alert name each time); the newest incident."""
    names = iter(range(1000))

    def _fire() -> Incident:
        response = push(source, payloads.alertmanager(payloads.am_alert(f"A{next(names)}")))
        assert response.status_code == 200, response.content
        return Incident.objects.latest("pk")

    return _fire


def rule_name(incident: Incident) -> str | None:
    return incident.escalation_rule.name if incident.escalation_rule else None


def minutes_to_next_step(incident: Incident) -> int | None:
    if incident.next_escalation_at is None:
        return None
    return round((incident.next_escalation_at - incident.created_at).total_seconds() / 60)


@pytest.mark.parametrize("change", WRITE_PATHS)
def test_every_way_of_changing_rules_reaches_the_next_merge(fire, channel, change):
    rule = channel.escalation_rules.get()
    rule.position = 5
    rule.save()
    assert rule_name(fire()) == "Default"  # the channel's rules kept for this version

    match change:
        case "save":
            rule.name = "Renamed"
            rule.save()
            expected = "Renamed"
        case "delete":
            rule.delete()
            expected = None
        case "queryset_update":
            EscalationRule.objects.filter(pk=rule.pk).update(name="Updated")
            expected = "Updated"
        case "queryset_delete":
            EscalationRule.objects.filter(channel=channel).delete()
            expected = None
        case "bulk_create":
            EscalationRule.objects.bulk_create(
                [EscalationRule(channel=channel, position=0, name="New")]
            )
            expected = "New"
        case "bulk_update":
            rule.name = "Bulk"
            EscalationRule.objects.bulk_update([rule], ["name"])
            expected = "Bulk"

    assert rule_name(fire()) == expected


@pytest.mark.parametrize("change", WRITE_PATHS)
def test_every_way_of_changing_levels_reaches_the_next_step(fire, channel, change):
    level = EscalationLevel.objects.get(rule__channel=channel)
    level.position = 5
    level.save()
    assert minutes_to_next_step(fire()) == 30  # level 1 notified, level 2 due after 30 min

    match change:
        case "save":
            level.escalate_after_minutes = 7
            level.save()
            expected = 7
        case "delete":
            level.delete()
            expected = None  # no level: the escalation is over at once
        case "queryset_update":
            EscalationLevel.objects.filter(pk=level.pk).update(escalate_after_minutes=7)
            expected = 7
        case "queryset_delete":
            EscalationLevel.objects.filter(rule__channel=channel).delete()
            expected = None
        case "bulk_create":
            EscalationLevel.objects.bulk_create(
                [EscalationLevel(rule=level.rule, position=0, escalate_after_minutes=7)]
            )
            expected = 7
        case "bulk_update":
            level.escalate_after_minutes = 7
            EscalationLevel.objects.bulk_update([level], ["escalate_after_minutes"])
            expected = 7

    assert minutes_to_next_step(fire()) == expected


@pytest.mark.parametrize("side", ["level", "schedule"])
def test_a_schedule_given_to_a_level_reaches_the_next_step(fire, channel, side):
    level = EscalationLevel.objects.get(rule__channel=channel)
    assert "alice" not in reached(fire())  # the kept level has no schedule
    alice = UserFactory(username="alice")
    schedule = ScheduleFactory(name="Primary")
    ScheduleLayerFactory(schedule=schedule, people=[alice])

    if side == "level":
        level.schedules.add(schedule)
    else:
        schedule.escalation_levels.add(level)

    assert "alice (on call: Primary" in reached(fire())


def reached(incident: Incident) -> str:
    """Whom level 1 reached or could not reach (no chat app here), in words."""
    data = incident.timeline.get(kind=Entry.Kind.NOTIFIED).data
    return " ".join(data["notified"] + data["unreachable"])


def test_a_rule_moved_to_another_channel_leaves_both_current(fire, channel):
    other = IncidentFactory().channel
    assert rule_name(fire()) == "Default"

    rule = channel.escalation_rules.get()
    rule.channel = other
    rule.save()

    assert rule_name(fire()) is None


def test_a_rule_changed_through_the_api_reaches_the_next_merge(fire, channel, admin_user):
    rule = channel.escalation_rules.get()
    assert rule_name(fire()) == "Default"

    response = api_as(admin_user).patch(
        f"/api/v1/escalation-rules/{rule.public_id}/", {"severities": ["info"]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert rule_name(fire()) is None  # the alerts are critical


def test_deleting_a_rules_template_reaches_the_kept_rules(fire, channel):
    template = NotificationTemplate.objects.create(name="Short")
    rule = channel.escalation_rules.get()
    rule.notification_template = template
    rule.save()
    assert fire().escalation_rule.notification_template_id == template.pk

    template.delete()  # the rule's field is set to null without its save

    assert fire().escalation_rule.notification_template_id is None


def test_saving_a_channel_loaded_before_its_rules_changed_keeps_the_new_version(fire, channel):
    stale = type(channel).objects.get(pk=channel.pk)
    assert rule_name(fire()) == "Default"
    EscalationRule.objects.filter(channel=channel).update(name="Changed")

    stale.description = "edited in another tab"
    stale.save()

    assert rule_name(fire()) == "Changed"


# --- The first step: planned in the merge, sent from the cards queue, once ----------------------


def test_a_new_incident_is_planned_in_the_merge_and_notified_by_a_cards_task(
    push, source, monkeypatch
):
    rung = []
    monkeypatch.setattr(tasks.escalation_start, "delay", lambda *args: rung.append(args))

    push(source, payloads.alertmanager(payloads.am_alert("Disk")))

    incident = Incident.objects.get()
    assert incident.escalation_rule.name == "Default"
    assert incident.next_escalation_at is not None  # planned with the merge's commit
    assert not incident.timeline.filter(kind=Entry.Kind.NOTIFIED).exists()
    assert rung == [()]  # a runner of due steps, queued once
    tasks.escalation_start()
    assert incident.timeline.filter(kind=Entry.Kind.NOTIFIED).count() == 1


def test_a_first_step_run_twice_notifies_once(push, source, monkeypatch):
    rung = []
    monkeypatch.setattr(tasks.escalation_start, "delay", lambda *args: rung.append(args))
    push(source, payloads.alertmanager(payloads.am_alert("Disk")))

    assert rung == [()]
    tasks.escalation_start()
    tasks.escalation_start()  # a retry, or the broker delivering it twice

    incident = Incident.objects.get()
    assert incident.timeline.filter(kind=Entry.Kind.NOTIFIED).count() == 1
    assert incident.escalation_level == 1


# --- What a new incident costs -------------------------------------------------------------------

# Measured here, savepoints included (outside a test: 14 and 9 on PostgreSQL, see
# ``tests.benchmarks.statements``), as ceilings: a change that adds round trips to every new
# incident shows here. (14: a new alert looks for a resolve received after its push and merged
# before it, ``oncall.early_resolves``.)
MERGE_STATEMENTS = {"sqlite": 15, "postgresql": 16}
START_STATEMENTS = {"sqlite": 11, "postgresql": 11}


def test_a_new_incident_costs_the_merge_no_escalation_query_and_its_start_a_few(
    push, source, monkeypatch, django_capture_on_commit_callbacks
):
    push(source, payloads.alertmanager(payloads.am_alert("Warm")))  # the rules kept
    rung = []
    monkeypatch.setattr(tasks.escalation_start, "delay", lambda *args: rung.append(args))
    push(source, payloads.alertmanager(payloads.am_alert("Disk")), process=False)
    inbound = InboundEvent.objects.latest("pk")

    with (
        CaptureQueriesContext(connection) as merge,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.process_inbound_event(inbound.pk)
    with CaptureQueriesContext(connection) as start:
        tasks.escalation_start(*rung[0])

    merged = " ".join(query["sql"] for query in merge.captured_queries)
    assert "oncall_escalationrule" not in merged
    assert "oncall_escalationlevel" not in merged
    assert len(merge.captured_queries) <= MERGE_STATEMENTS[connection.vendor], merged
    assert len(start.captured_queries) <= START_STATEMENTS[connection.vendor]
    assert Incident.objects.latest("pk").timeline.filter(kind=Entry.Kind.NOTIFIED).count() == 1
