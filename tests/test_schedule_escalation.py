"""Schedules as escalation targets in the core: whom a level reaches and why, what it reports,
its description, the admin and the REST API (the end-to-end test through Feishu is
``tests/feishu/sandbox/test_schedule_escalation_e2e.py``)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oncall import escalation
from oncall.celery import app as celery_app
from oncall.models import EscalationLevel, EscalationRule, ScheduleOverride
from oncall.platforms import LevelReport, PlatformBase, person_name
from tests.escalation_rule_requests import payload, rule_form
from tests.factories import (
    ChannelFactory,
    EscalationLevelFactory,
    EscalationRuleFactory,
    IncidentFactory,
    ScheduleFactory,
    ScheduleLayerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# The URLconf and Celery's beat schedule take the installed platforms when first built: built
# here, with the console's platforms, before a fixture swaps them for the test's own, so that
# later tests (and this module's admin pages) find Feishu's URLs and periodic tasks.
importlib.import_module(settings.ROOT_URLCONF)
assert celery_app.conf.beat_schedule

# A Tuesday, in the first week of the layers below (weekly from Monday 2026-01-05 09:00 +08:00).
TUESDAY = datetime(2026, 1, 6, 4, tzinfo=UTC)
NAMED: list[list[str]] = []


class NamingPlatform(PlatformBase):
    """Reports every person it was given by ``person_name``, as a real platform does."""

    name = "naming"

    def notify(self, incident: Any, rule: Any, level: Any, people: list[Any]) -> LevelReport:
        NAMED.append([person_name(user) for user in people])
        return LevelReport([person_name(user) for user in people], [], [u.pk for u in people])


@pytest.fixture(autouse=True)
def _naming(settings):
    settings.CHAT_PLATFORMS = ["tests.test_schedule_escalation.NamingPlatform"]
    NAMED.clear()


@pytest.fixture
def people():
    return {
        name: UserFactory(username=name, first_name=name.title())
        for name in ("alice", "bob", "carol", "dave")
    }


def weekly(name: str, *people, **layer) -> Any:
    """A schedule ``name`` in Asia/Shanghai, weekly from Monday 2026-01-05 09:00."""
    schedule = ScheduleFactory(name=name)
    ScheduleLayerFactory(schedule=schedule, people=list(people), handoff_time=time(9), **layer)
    return schedule


def level_with(*schedules, users=()) -> EscalationLevel:
    rule = EscalationRuleFactory(channel=ChannelFactory())
    return EscalationLevelFactory(rule=rule, schedules=list(schedules), users=list(users))


# --- Whom a level reaches ------------------------------------------------------------------------


def test_a_level_reaches_whoever_is_on_call_in_each_schedule(people):
    primary = weekly("SRE primary", people["alice"], people["bob"])
    secondary = weekly("SRE secondary", people["carol"], people["alice"])

    reach = level_with(primary, secondary).reach(TUESDAY)

    assert [person_name(user) for user in reach.people] == [
        "Alice (on call: SRE primary)",
        "Carol (on call: SRE secondary)",
    ]
    next_week = level_with(primary, secondary).reach(TUESDAY + timedelta(weeks=1))
    assert [person_name(user) for user in next_week.people] == [
        "Alice (on call: SRE secondary)",
        "Bob (on call: SRE primary)",
    ]


def test_the_override_wins(people):
    primary = weekly("SRE primary", people["alice"])
    ScheduleOverride.objects.create(
        schedule=primary, user=people["dave"], start=TUESDAY, end=TUESDAY + timedelta(hours=2)
    )

    reach = level_with(primary).reach(TUESDAY + timedelta(hours=1))

    assert [person_name(user) for user in reach.people] == ["Dave (on call: SRE primary)"]


def test_a_person_named_and_on_call_is_reached_once_with_every_reason(people):
    primary = weekly("SRE primary", people["alice"])
    secondary = weekly("SRE secondary", people["alice"])

    hours = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]
    later = weekly("Business hours", people["alice"], restrictions=hours)
    tuesday_night = datetime(2026, 1, 6, 14, tzinfo=UTC)  # 22:00 +08:00
    level = level_with(primary, secondary, later, users=[people["alice"], people["bob"]])

    reach = level.reach(tuesday_night)

    assert [person_name(user) for user in reach.people] == [
        "Alice (on call: SRE primary, SRE secondary; next on call: Business hours, from Wed 09:00)",
        "Bob",
    ]


def test_nobody_on_call_reaches_the_next_person_and_says_so(people):
    # Business hours only (Mon-Fri 09:00-18:00 Shanghai): at 22:00 nobody, Bob at 09:00.
    hours = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]
    primary = weekly("SRE primary", people["bob"], restrictions=hours)
    tuesday_night = datetime(2026, 1, 6, 14, tzinfo=UTC)  # 22:00 +08:00

    reach = level_with(primary).reach(tuesday_night)

    assert [person_name(user) for user in reach.people] == [
        "Bob (next on call: SRE primary, from Wed 09:00)"
    ]
    assert reach.unreachable == []


def test_a_schedule_with_nobody_within_the_horizon_is_unreachable_in_words(people):
    empty = ScheduleFactory(name="DB secondary")
    later = weekly("Next year", people["bob"], start_date=datetime(2027, 1, 4).date())

    reach = level_with(empty, later).reach(TUESDAY)

    assert reach.people == []
    assert reach.unreachable == [
        "DB secondary (schedule: nobody on call now or in the next 14 days)",
        "Next year (schedule: nobody on call now or in the next 14 days)",
    ]


def test_deactivated_people_are_not_reached(people):
    people["alice"].is_active = False
    people["alice"].save()
    primary = weekly("SRE primary", people["alice"], people["bob"])

    reach = level_with(primary).reach(TUESDAY)

    # Alice's turn is a gap: Bob, whose turn is next Monday, is the next person.
    assert [person_name(user) for user in reach.people] == [
        "Bob (next on call: SRE primary, from Mon 09:00)"
    ]


def test_resolving_costs_the_same_queries_for_one_schedule_and_six(people):
    def queries(level: EscalationLevel) -> int:
        with CaptureQueriesContext(connection) as captured:
            level.reach(TUESDAY)
        return len(captured.captured_queries)

    one = level_with(weekly("One", people["alice"], people["bob"]))
    six = level_with(
        *(weekly(f"S{n}", people["alice"], people["bob"], people["carol"]) for n in range(6))
    )
    for schedule in six.schedules.all():
        ScheduleOverride.objects.create(
            schedule=schedule, user=people["dave"], start=TUESDAY, end=TUESDAY + timedelta(hours=1)
        )
    assert queries(six) == queries(one)


# --- The engine reports it ----------------------------------------------------------------------


def test_the_timeline_says_which_schedule_reached_whom(people, monkeypatch):
    primary = weekly("SRE primary", people["alice"], people["bob"])
    level = level_with(primary, ScheduleFactory(name="Empty"), users=[people["carol"]])
    incident = IncidentFactory(channel=level.rule.channel)
    incident.escalation_rule = level.rule
    incident.next_escalation_at = due = TUESDAY - timedelta(seconds=1)
    incident.save()
    monkeypatch.setattr(escalation.timezone, "now", lambda: TUESDAY)

    escalation.step(incident.pk, due.isoformat())

    entry = incident.timeline.get(kind="notified")
    assert entry.message == (
        "Level 1: notified Alice (on call: SRE primary), Carol; not reachable: Empty "
        "(schedule: nobody on call now or in the next 14 days)."
    )
    assert entry.data["notified"] == ["Alice (on call: SRE primary)", "Carol"]
    # Counted by id, whatever the reason the name carries (insights' responders' load).
    assert sorted(entry.data["notified_users"]) == sorted([people["alice"].pk, people["carol"].pk])


# --- Description, validation, admin, API --------------------------------------------------------


def test_the_description_names_the_schedules(people):
    level = level_with(ScheduleFactory(name="SRE primary"), users=[people["alice"]])
    # the rule's only level: no "escalate after", there is no next level
    assert level.describe() == "Notify Alice and the on-call of SRE primary"


def test_a_schedule_alone_is_a_target():
    primary = ScheduleFactory()
    EscalationLevel.validate_targets(
        users=[], schedules=[primary], notify_channel_members=False, platform_targets=False
    )


def test_an_admin_sets_a_levels_schedules(admin_client, people):
    channel = ChannelFactory()
    primary = ScheduleFactory(name="SRE primary")
    form = rule_form(
        channel, {"position": "0", "schedules": [primary.pk], "escalate_after_minutes": "15"}
    )

    response = admin_client.post(reverse("admin:oncall_escalationrule_add"), form)

    assert response.status_code == 302, response.context["errors"]
    level = EscalationRule.objects.get(name="Databases, nights").levels.get()
    assert list(level.schedules.all()) == [primary]
    page = admin_client.get(reverse("admin:oncall_escalationrule_change", args=[level.rule.pk]))
    # the only level of a rule that runs again once
    expected = "Notify the on-call of SRE primary; start again after 15 min"
    assert expected in page.content.decode()


def test_the_admin_still_refuses_a_level_without_any_target(admin_client):
    form = rule_form(ChannelFactory(), {"position": "0", "escalate_after_minutes": "15"})
    response = admin_client.post(reverse("admin:oncall_escalationrule_add"), form)
    assert "Choose at least one target: users, schedules" in response.content.decode()


def test_the_api_sets_and_shows_a_levels_schedules(staff):
    channel = ChannelFactory()
    primary = ScheduleFactory(name="SRE primary")

    response = staff.post(
        "/api/v1/escalation-rules/",
        payload(channel, {"schedules": [str(primary.public_id)]}),
        format="json",
    )

    assert response.status_code == 201, response.json()
    level = response.json()["levels"][0]
    assert level["schedules"] == [str(primary.public_id)]
    assert level["summary"] == "Notify the on-call of SRE primary"  # the last: no escalation


def test_the_api_refuses_an_unknown_schedule_and_a_level_without_targets(staff):
    channel = ChannelFactory()
    unknown = "00000000-0000-0000-0000-000000000000"

    response = staff.post(
        "/api/v1/escalation-rules/", payload(channel, {"schedules": [unknown]}), format="json"
    )
    assert response.status_code == 400
    assert "schedules" in str(response.json())
    empty = staff.post(
        "/api/v1/escalation-rules/", payload(channel, {"schedules": []}), format="json"
    )
    assert empty.status_code == 400
    assert "Choose at least one target" in str(empty.json())
    assert not EscalationRule.objects.filter(channel=channel, name="Critical in prod").exists()
