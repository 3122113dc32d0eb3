"""Assigning an incident to a person or to an escalation level: through the lifecycle service,
the incident page and the REST API (the Feishu command is in
``tests/feishu/test_new_and_assign_commands.py``). Whoever it is handed to is notified now."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from oncall import escalation, lifecycle
from oncall.models import (
    ActionSource,
    EscalationLevel,
    EscalationRule,
    Incident,
    TimelineEntry,
)
from oncall.timeline import Actor
from tests.factories import (
    ChannelFactory,
    EscalationRuleFactory,
    IncidentFactory,
    UserFactory,
    api_as,
)
from tests.stub_platform.platform import NOTIFIED_LEVELS as notified_levels
from tests.stub_platform.platform import NOTIFIED_PEOPLE as notified_people
from tests.stub_platform.platform import UNREACHABLE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_platform")]

Kind = TimelineEntry.Kind
Status = Incident.Status


@pytest.fixture
def alice(responder):
    responder.first_name, responder.last_name = "Alice", "Chen"
    responder.save()
    return responder


@pytest.fixture
def bob(channel):
    user = UserFactory(username="bob", first_name="Bob", last_name="Li")
    channel.members.add(user)
    return user


@pytest.fixture
def carol(channel):
    user = UserFactory(username="carol", first_name="Carol", last_name="Wang")
    channel.members.add(user)
    return user


@pytest.fixture
def rule(channel):
    """Primary: level 1 (10 min), level 2 (5 min), level 3 (5 min)."""
    channel.escalation_rules.all().delete()
    rule = EscalationRule.objects.create(channel=channel, name="Primary", position=0)
    for position, minutes in ((1, 10), (2, 5), (3, 5)):
        EscalationLevel.objects.create(
            rule=rule,
            position=position,
            notify_channel_members=True,
            escalate_after_minutes=minutes,
        )
    return rule


@pytest.fixture
def incident(channel, rule, django_capture_on_commit_callbacks):
    """An incident escalating along Primary: level 1 was notified."""
    incident = IncidentFactory(channel=channel, title="Replication lag on db-2")
    with django_capture_on_commit_callbacks(execute=True):
        escalation.plan_start(incident, timezone.now())
    notified_levels.clear()
    incident.refresh_from_db()
    return incident


def web(user) -> Actor:
    return Actor(user, ActionSource.WEB)


def fresh(incident: Incident) -> Incident:
    incident.refresh_from_db()
    return incident


def last_entry(incident: Incident) -> TimelineEntry:
    return incident.timeline.order_by("-created_at", "-pk").first()


# --- to a person ---------------------------------------------------------------------------------


def test_assigning_to_a_person_notifies_them_and_records_it(alice, bob, incident):
    outcome = lifecycle.assign_person(incident, web(alice), bob)

    assert outcome.changed
    assert notified_people == [(incident.pk, ["bob"], "Assigned to you by Alice Chen")]
    entry = last_entry(incident)
    assert entry.kind == Kind.ASSIGNED
    assert entry.message == "Assigned to Bob Li by Alice Chen; notified Bob Li (Recording)"
    assert (entry.actor, entry.source, entry.data["assigned_to"]) == (alice, "web", bob.pk)
    incident = fresh(incident)
    assert incident.assigned_to == bob
    assert incident.assigned_at is not None


def test_a_person_holds_it_alone_the_rule_stops(alice, bob, incident):
    lifecycle.assign_person(incident, web(alice), bob)

    incident = fresh(incident)
    assert incident.escalation_rule is None
    assert incident.next_escalation_at is None
    assert escalation.sweep() == 0
    # An unclaim later does not start a rule again: the assignee is the one to act.
    lifecycle.claim(incident, web(bob))
    lifecycle.unclaim(incident, web(bob))
    assert fresh(incident).next_escalation_at is None
    assert notified_levels == []


def test_an_unreachable_assignee_is_named_with_the_reason(alice, channel, incident):
    nobody = UserFactory(username=UNREACHABLE, first_name="Dave")
    channel.members.add(nobody)

    outcome = lifecycle.assign_person(incident, web(alice), nobody)

    assert outcome.message == (
        "Assigned to Dave by Alice Chen; notified nobody; not reachable: Dave (no address)"
    )
    assert last_entry(incident).data["unreachable"] == ["Dave (no address)"]


def test_assigning_releases_a_claim_by_someone_else(alice, bob, carol, incident):
    lifecycle.claim(incident, web(carol))

    outcome = lifecycle.assign_person(incident, web(alice), bob)

    assert outcome.message.startswith(
        "Assigned to Bob Li by Alice Chen (claim by Carol Wang released); notified Bob Li"
    )
    incident = fresh(incident)
    assert (incident.status, incident.claimed_by) == (Status.TRIGGERED, None)


def test_assigning_to_the_claimer_keeps_their_claim(alice, bob, incident):
    lifecycle.claim(incident, web(bob))

    lifecycle.assign_person(incident, web(alice), bob)

    incident = fresh(incident)
    assert (incident.status, incident.claimed_by, incident.assigned_to) == (
        Status.ACKNOWLEDGED,
        bob,
        bob,
    )


def test_assigning_ends_a_snooze(alice, bob, incident):
    lifecycle.snooze(incident, web(alice), timedelta(hours=2))

    lifecycle.assign_person(incident, web(alice), bob)

    assert fresh(incident).snoozed_until is None


def test_assigning_twice_to_the_same_person_changes_nothing(alice, bob, incident):
    lifecycle.assign_person(incident, web(alice), bob)
    outcome = lifecycle.assign_person(incident, web(alice), bob)

    assert not outcome.changed
    assert outcome.message == "Already assigned to Bob Li"
    assert len(notified_people) == 1
    assert incident.timeline.filter(kind=Kind.ASSIGNED).count() == 1


def test_the_assignee_must_be_a_member_of_the_channel(alice, outsider, incident):
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.assign_person(incident, web(alice), outsider)

    assert refused.value.message.startswith(
        f"Not a member of the channel {incident.channel.name}: mallory."
    )
    assert fresh(incident).assigned_to is None
    assert notified_people == []


def test_a_non_member_cannot_reassign(outsider, bob, incident):
    with pytest.raises(PermissionDenied):
        lifecycle.assign_person(incident, web(outsider), bob)
    with pytest.raises(PermissionDenied):
        lifecycle.assign_level(incident, web(outsider), 2)
    assert not incident.timeline.filter(kind=Kind.ASSIGNED).exists()


def test_a_closed_incident_cannot_be_assigned(alice, bob, incident):
    lifecycle.close(incident, web(alice))

    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.assign_person(incident, web(alice), bob)
    assert refused.value.message.startswith("Cannot assign: already closed by Alice Chen")


def test_a_reopen_clears_the_assignee_and_escalates_again(
    alice, bob, incident, rule, django_capture_on_commit_callbacks
):
    lifecycle.assign_person(incident, web(alice), bob)
    lifecycle.close(incident, web(alice))
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.reopen(incident, web(alice))

    incident = fresh(incident)
    assert (incident.assigned_to, incident.escalation_rule) == (None, rule)
    assert notified_levels == [(incident.pk, 1)]


# --- to a level ----------------------------------------------------------------------------------


def test_assigning_to_a_level_notifies_it_and_escalation_goes_on_from_there(alice, incident, rule):
    before = timezone.now()
    outcome = lifecycle.assign_level(incident, web(alice), 2)

    assert notified_levels == [(incident.pk, 2)]
    assert outcome.message == (
        "Assigned to level 2 of “Primary” by Alice Chen; notified level 2 people"
    )
    entry = last_entry(incident)
    assert (entry.kind, entry.data["level"], entry.data["rule"]) == (
        Kind.ASSIGNED,
        2,
        str(rule.public_id),
    )
    incident = fresh(incident)
    assert (incident.escalation_rule, incident.escalation_level) == (rule, 2)  # next: level 3
    assert escalation.next_level(incident) == 3
    due = incident.next_escalation_at - before
    assert timedelta(minutes=5) <= due <= timedelta(minutes=5, seconds=30)
    # Level 2's time passes: level 3 follows.
    overdue = timezone.now() - timedelta(seconds=1)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=overdue)
    escalation.step(incident.pk, overdue.isoformat())
    assert notified_levels == [(incident.pk, 2), (incident.pk, 3)]


def test_assigning_to_a_level_clears_the_assignee_and_releases_a_claim(
    alice, bob, carol, incident, rule
):
    lifecycle.assign_person(incident, web(alice), bob)
    lifecycle.claim(incident, web(carol))

    outcome = lifecycle.assign_level(incident, web(alice), 1)

    assert "(claim by Carol Wang released)" in outcome.message
    incident = fresh(incident)
    assert (incident.assigned_to, incident.status, incident.escalation_rule) == (
        None,
        Status.TRIGGERED,
        rule,
    )
    assert notified_levels == [(incident.pk, 1)]


def test_a_level_of_another_rule_of_the_channel(alice, channel, incident):
    other = EscalationRuleFactory(channel=channel, name="Databases")
    EscalationLevel.objects.create(rule=other, position=1, notify_channel_members=True)

    lifecycle.assign_level(incident, web(alice), 1, other)

    assert fresh(incident).escalation_rule == other


def test_a_level_that_does_not_exist_or_a_foreign_rule_is_refused(alice, incident):
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.assign_level(incident, web(alice), 4)
    assert refused.value.message == "“Primary” has levels 1 to 3; there is no level 4"

    foreign = EscalationRuleFactory(channel=ChannelFactory(), name="Elsewhere")
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.assign_level(incident, web(alice), 1, foreign)
    assert "is not an enabled escalation rule of the channel" in refused.value.message
    assert notified_levels == []


# --- the incident page ---------------------------------------------------------------------------


def test_the_page_links_to_the_assign_form_which_offers_people_and_levels(signed_in, incident, bob):
    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert f'href="/incidents/{incident.public_id}/assign/"' in page

    form = signed_in.get(f"/incidents/{incident.public_id}/assign/").content.decode()
    assert f'<option value="user:{bob.pk}">Bob Li</option>' in form
    assert "Primary · level 2: Notify channel members" in form
    assert 'name="csrfmiddlewaretoken"' in form


def test_the_page_assigns_to_a_person(signed_in, incident, alice, bob):
    response = signed_in.post(
        f"/incidents/{incident.public_id}/assign/", {"target": f"user:{bob.pk}"}, follow=True
    )

    assert response.redirect_chain == [(f"/incidents/{incident.public_id}/", 302)]
    body = response.content.decode()
    assert "Assigned. Assigned to Bob Li by Alice Chen; notified Bob Li (Recording)" in body
    assert fresh(incident).assigned_to == bob
    assert last_entry(incident).source == "web"


def test_the_page_warns_when_the_assignee_could_not_be_reached(signed_in, channel, incident):
    nobody = UserFactory(username=UNREACHABLE, first_name="Dave")
    channel.members.add(nobody)

    response = signed_in.post(
        f"/incidents/{incident.public_id}/assign/", {"target": f"user:{nobody.pk}"}, follow=True
    )

    (message,) = list(response.context["messages"])
    assert message.level_tag == "warning"
    assert "not reachable: Dave (no address)" in message.message


def test_the_page_assigns_to_a_level(signed_in, incident, rule):
    response = signed_in.post(
        f"/incidents/{incident.public_id}/assign/", {"target": f"level:{rule.public_id}:3"}
    )

    assert response.status_code == 302
    assert notified_levels == [(incident.pk, 3)]


def test_the_page_refuses_someone_outside_the_channel(signed_in, incident, outsider):
    response = signed_in.post(
        f"/incidents/{incident.public_id}/assign/", {"target": f"user:{outsider.pk}"}
    )

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert fresh(incident).assigned_to is None


def test_the_page_is_404_for_a_non_member(client, outsider, incident, bob):
    client.force_login(outsider)
    url = f"/incidents/{incident.public_id}/assign/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"target": f"user:{bob.pk}"}).status_code == 404
    assert fresh(incident).assigned_to is None


def test_the_assign_form_needs_the_csrf_token(alice, bob, incident):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = f"/incidents/{incident.public_id}/assign/"

    assert client.post(url, {"target": f"user:{bob.pk}"}).status_code == 403
    token = client.get(url).cookies["csrftoken"].value
    client.post(url, {"target": f"user:{bob.pk}", "csrfmiddlewaretoken": token})
    assert fresh(incident).assigned_to == bob


def test_the_page_and_the_list_show_the_assignee(signed_in, incident, alice, bob):
    lifecycle.assign_person(incident, web(alice), bob)

    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "Assigned to" in page
    assert "Bob Li" in page
    assert "assigned to Bob Li" in signed_in.get("/incidents/").content.decode()
    chinese = signed_in.get("/incidents/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "已分派给 Bob Li" in chinese


def test_the_list_filters_what_is_assigned_to_me(signed_in, channel, incident, alice, bob):
    mine = IncidentFactory(channel=channel, title="Handed to Alice")
    lifecycle.assign_person(mine, web(bob), alice)
    lifecycle.assign_person(incident, web(alice), bob)

    body = signed_in.get("/incidents/?assigned=on").content.decode()

    assert "Handed to Alice" in body
    assert incident.title not in body
    assert 'href="?state=open">Clear filters' in body
    chinese = signed_in.get("/incidents/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "分派给我的" in chinese


def test_a_closed_incident_offers_no_assignment(signed_in, incident, alice):
    lifecycle.close(incident, web(alice))
    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "/assign/" not in page


# --- the REST API --------------------------------------------------------------------------------


def assign_url(incident: Incident) -> str:
    return f"/api/v1/incidents/{incident.public_id}/assign/"


def test_the_api_assigns_to_a_person(alice, bob, incident):
    response = api_as(alice).post(assign_url(incident), {"user": bob.pk}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["changed"] is True
    assert body["message"] == "Assigned to Bob Li by Alice Chen; notified Bob Li (Recording)"
    assert body["incident"]["assigned_to"] == bob.pk
    assert body["incident"]["timeline"][-1]["source"] == "api"


def test_the_api_assigns_to_a_level_of_a_named_rule(alice, incident, rule):
    response = api_as(alice).post(
        assign_url(incident),
        {"escalation_level": 2, "escalation_rule": str(rule.public_id)},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["incident"]["escalation"]["next_level"] == 3
    assert notified_levels == [(incident.pk, 2)]


@pytest.mark.parametrize(
    "body",
    [{}, {"user": 1, "escalation_level": 1}, {"escalation_level": 0}, {"user": 987654}],
)
def test_the_api_refuses_a_bad_request(alice, incident, body):
    response = api_as(alice).post(assign_url(incident), body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["message"]


def test_the_api_refuses_an_assignee_outside_the_channel(alice, outsider, incident):
    response = api_as(alice).post(assign_url(incident), {"user": outsider.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Not a member of the channel")


def test_the_api_hides_the_incident_from_a_non_member(outsider, bob, incident):
    response = api_as(outsider).post(assign_url(incident), {"user": bob.pk}, format="json")

    assert response.status_code == 404
    assert fresh(incident).assigned_to is None


def test_the_api_refuses_a_level_that_does_not_exist(alice, incident):
    response = api_as(alice).post(assign_url(incident), {"escalation_level": 9}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "“Primary” has levels 1 to 3; there is no level 9"
    )


def test_the_api_refuses_a_closed_incident_with_409(alice, bob, incident):
    lifecycle.close(incident, web(alice))
    response = api_as(alice).post(assign_url(incident), {"user": bob.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transition_refused"


def test_the_api_filters_by_assignee(alice, bob, incident, channel):
    other = IncidentFactory(channel=channel)
    lifecycle.assign_person(incident, web(alice), bob)

    listed = api_as(alice).get(f"/api/v1/incidents/?assigned_to={bob.pk}").json()["results"]

    assert [row["id"] for row in listed] == [str(incident.public_id)]
    assert other.assigned_to is None


@pytest.mark.parametrize("name", ["assigned_to", "claimed_by"])
def test_the_api_refuses_a_person_filter_no_id_can_match(alice, name):
    response = api_as(alice).get(f"/api/v1/incidents/?{name}=99999999999999999999999")

    assert response.status_code == 400
    assert name in response.json()["error"]["fields"]


# --- the admin -----------------------------------------------------------------------------------


def test_the_admin_shows_the_assignee_and_why_no_rule_escalates(client, alice, bob, incident):
    lifecycle.assign_person(incident, web(alice), bob)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    body = client.get(f"/admin/oncall/incident/{incident.pk}/change/").content.decode()

    assert "Assigned to Bob Li: no rule escalates it." in body
    assert "Assigned at" in body


# --- at the same time (PostgreSQL) ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_assignments_and_a_claim_end_consistent(alice, bob, carol, channel, rule):
    from tests.concurrency import race

    for _ in range(5):
        incident = IncidentFactory(channel=channel)
        notified_people.clear()
        results = race(
            lambda pk=incident.pk: lifecycle.assign_person(pk, web(alice), bob),
            lambda pk=incident.pk: lifecycle.assign_person(pk, web(alice), carol),
            lambda pk=incident.pk: lifecycle.claim(pk, web(alice)),
        )

        assert all(isinstance(r, lifecycle.Outcome) for r in results), results
        incident.refresh_from_db()
        entries = list(incident.timeline.order_by("created_at", "pk"))
        assigned = [e for e in entries if e.kind == Kind.ASSIGNED]
        assert len(assigned) == 2
        # The last assignment is who holds it, and each assignee was notified once.
        assert incident.assigned_to.pk == assigned[-1].data["assigned_to"]
        assert sorted(names for _, names, _ in notified_people) == [["bob"], ["carol"]]
        # A claim stands only if no assignment came after it.
        claimed_last = entries[-1].kind == Kind.CLAIMED
        assert (incident.status == Status.ACKNOWLEDGED) == claimed_last
        assert incident.escalation_rule is None
        assert incident.next_escalation_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_manual_incidents_get_distinct_numbers(alice, channel, rule):
    from tests.concurrency import race

    results = race(
        *(
            lambda n=n: lifecycle.open_incident(channel, web(alice), title=f"By hand {n}")
            for n in range(6)
        )
    )

    assert all(isinstance(r, lifecycle.Outcome) for r in results), results
    incidents = Incident.objects.filter(channel=channel)
    assert len({i.number for i in incidents}) == 6
    assert all(i.alerts.count() == 1 for i in incidents)
