"""Incidents opened by hand: through the lifecycle service, the web page and the REST API (the
Feishu command is in ``tests/feishu/test_new_and_assign_commands.py``). A manual incident is
an incident like any other, with one alert that no alert source sent, and escalates like one."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from oncall import lifecycle
from oncall.models import (
    ActionSource,
    Alert,
    EscalationLevel,
    EscalationRule,
    Incident,
    TimelineEntry,
)
from oncall.timeline import Actor
from tests import payloads
from tests.factories import AlertSourceFactory, ChannelFactory, UserFactory, api_as
from tests.stub_platform.platform import NOTIFIED_LEVELS as notified_levels
from tests.stub_platform.platform import NOTIFIED_PEOPLE as notified_people
from tests.stub_platform.platform import UNREACHABLE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_platform")]

Kind = TimelineEntry.Kind


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
def rule(channel):
    """Level 1 after 10 minutes, then level 2."""
    channel.escalation_rules.all().delete()
    rule = EscalationRule.objects.create(channel=channel, name="Primary", position=0)
    EscalationLevel.objects.create(
        rule=rule, position=1, notify_channel_members=True, escalate_after_minutes=10
    )
    EscalationLevel.objects.create(
        rule=rule, position=2, notify_channel_members=True, escalate_after_minutes=5
    )
    return rule


def web(user) -> Actor:
    return Actor(user, ActionSource.WEB)


def open_one(channel, user, django_capture_on_commit_callbacks, **values) -> Incident:
    """Open an incident and run what its commit hands out (level 1's step)."""
    values.setdefault("title", "Checkout is slow")
    with django_capture_on_commit_callbacks(execute=True):
        outcome = lifecycle.open_incident(channel, web(user), **values)
    assert outcome.changed
    return Incident.objects.get(pk=outcome.incident.pk)


# --- the lifecycle -------------------------------------------------------------------------------


def test_a_manual_incident_is_one_alert_without_a_source(
    channel, alice, rule, django_capture_on_commit_callbacks
):
    incident = open_one(
        channel,
        alice,
        django_capture_on_commit_callbacks,
        title="  Checkout   is slow ",
        description="p99 above 3 s since 10:00",
        severity="critical",
    )

    assert (incident.title, incident.severity, incident.status) == (
        "Checkout is slow",
        "critical",
        Incident.Status.TRIGGERED,
    )
    assert incident.created_by == alice
    assert incident.is_manual
    assert incident.alert_count == 1
    (alert,) = incident.alerts.all()
    assert alert.source is None
    assert (alert.title, alert.description, alert.severity, alert.status) == (
        "Checkout is slow",
        "p99 above 3 s since 10:00",
        "critical",
        Alert.Status.FIRING,
    )
    created = incident.timeline.get(kind=Kind.CREATED)
    assert (created.message, created.actor) == ("Opened by Alice Chen", alice)
    assert created.source_label == "web"


def test_a_manual_incident_escalates_level_1_at_once(
    channel, alice, rule, django_capture_on_commit_callbacks
):
    incident = open_one(channel, alice, django_capture_on_commit_callbacks)

    assert notified_levels == [(incident.pk, 1)]
    assert incident.escalation_rule == rule
    assert incident.timeline.filter(kind=Kind.NOTIFIED).get().message == (
        "Level 1: notified level 1 people."
    )


def test_the_severity_defaults_to_warning(channel, alice, django_capture_on_commit_callbacks):
    assert open_one(channel, alice, django_capture_on_commit_callbacks).severity == "warning"


def test_a_rule_s_matchers_read_the_manual_alert(
    channel, alice, rule, django_capture_on_commit_callbacks
):
    rule.position = 1
    rule.save()
    checkout = EscalationRule.objects.create(
        channel=channel,
        name="Checkout",
        position=0,
        matchers=[{"key": "title", "op": "re", "value": "Checkout.*"}],
    )
    EscalationLevel.objects.create(rule=checkout, position=1, notify_channel_members=True)

    assert open_one(channel, alice, django_capture_on_commit_callbacks).escalation_rule == checkout
    other = open_one(channel, alice, django_capture_on_commit_callbacks, title="Disk full")
    assert other.escalation_rule == rule


def test_people_paged_are_notified_now_and_the_timeline_says_so(
    channel, alice, bob, rule, django_capture_on_commit_callbacks
):
    unreachable = UserFactory(username=UNREACHABLE, first_name="Carol")
    channel.members.add(unreachable)

    incident = open_one(
        channel, alice, django_capture_on_commit_callbacks, page=[bob, unreachable, bob]
    )

    assert notified_people == [(incident.pk, ["bob", UNREACHABLE], "Paged by Alice Chen")]
    paged = incident.timeline.get(kind=Kind.NOTIFIED, actor=alice)
    assert paged.message == (
        "Paged by Alice Chen: notified Bob Li (Recording); not reachable: Carol (no address)"
    )
    assert paged.data["people"] == [bob.pk, unreachable.pk]


def test_a_person_no_platform_reports_on_is_unreachable(
    channel, alice, bob, rule, settings, django_capture_on_commit_callbacks
):
    settings.CHAT_PLATFORMS = []
    incident = open_one(channel, alice, django_capture_on_commit_callbacks, page=[bob])

    paged = incident.timeline.get(kind=Kind.NOTIFIED, actor=alice)
    assert paged.message == (
        "Paged by Alice Chen: notified nobody; not reachable: Bob Li (no chat platform can "
        "reach them)"
    )


def test_a_non_member_cannot_open_an_incident_in_the_channel(channel, outsider):
    with pytest.raises(PermissionDenied):
        lifecycle.open_incident(channel, web(outsider), title="Let me in")
    assert not Incident.objects.exists()


def test_only_members_can_be_paged(channel, alice, outsider):
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.open_incident(channel, web(alice), title="Help", page=[outsider])
    assert refused.value.message == (
        f"Not a member of the channel {channel.name}: mallory. Only its members can be paged "
        "about its incidents."
    )
    assert not Incident.objects.exists()
    assert notified_people == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"title": "   "}, "Give the incident a title"),
        ({"title": "x" * 513}, "A title has at most 512 characters"),
        ({"title": "ok", "severity": "apocalyptic"}, "Unknown severity “apocalyptic”"),
        ({"title": "ok", "description": "x" * 10_001}, "A description has at most 10000"),
    ],
)
def test_bad_values_are_refused_with_a_reason(channel, alice, values, message):
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.open_incident(channel, web(alice), **values)
    assert refused.value.message.startswith(message)
    assert not Incident.objects.exists()
    assert not Alert.objects.exists()


def test_it_closes_and_reopens_like_any_incident(
    channel, alice, rule, django_capture_on_commit_callbacks
):
    incident = open_one(channel, alice, django_capture_on_commit_callbacks)

    lifecycle.close(incident, web(alice))
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.reopen(incident, web(alice))

    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
    assert notified_levels == [(incident.pk, 1), (incident.pk, 1)]


def test_no_pushed_alert_joins_a_manual_incident(
    channel, alice, push, django_capture_on_commit_callbacks
):
    channel.group_by_labels = ["alertname"]
    channel.save()
    manual = open_one(channel, alice, django_capture_on_commit_callbacks, title="DiskFull")

    push(AlertSourceFactory(channel=channel), payloads.alertmanager(payloads.am_alert("DiskFull")))

    assert Incident.objects.count() == 2
    assert Incident.objects.get(pk=manual.pk).alert_count == 1


# --- the web page --------------------------------------------------------------------------------


def test_the_list_and_the_channel_page_link_to_the_form(signed_in, channel):
    assert 'href="/incidents/new/"' in signed_in.get("/incidents/").content.decode()
    channel_page = signed_in.get(f"/channels/{channel.public_id}/").content.decode()
    assert f'href="/incidents/new/?channel={channel.public_id}"' in channel_page


def test_the_form_offers_the_person_s_channels_and_their_people(signed_in, channel, bob):
    elsewhere = ChannelFactory(name="Not mine")
    stranger = UserFactory(username="stranger")
    elsewhere.members.add(stranger)

    page = signed_in.get(f"/incidents/new/?channel={channel.public_id}").content.decode()

    assert f'<option value="{channel.public_id}" selected>' in page
    assert "Not mine" not in page
    assert "Bob Li" in page
    assert "stranger" not in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_the_form_opens_the_incident_and_shows_it(signed_in, channel, alice, bob, rule):
    response = signed_in.post(
        "/incidents/new/",
        {
            "channel": channel.public_id,
            "title": "Checkout is slow",
            "description": "<script>alert(1)</script>",
            "severity": "critical",
            "page": [bob.pk],
        },
        follow=True,
    )

    incident = Incident.objects.get()
    assert response.redirect_chain == [(f"/incidents/{incident.public_id}/", 302)]
    body = response.content.decode()
    assert "Incident opened: its escalation has started." in body
    assert "opened by hand by Alice Chen" in body
    assert "Opened by Alice Chen" in body
    assert "<script>alert(1)</script>" not in body  # escaped
    assert incident.timeline.get(kind=Kind.CREATED).source == ActionSource.WEB
    assert notified_people == [(incident.pk, ["bob"], "Paged by Alice Chen")]


def test_the_form_refuses_a_channel_the_person_is_not_in(signed_in, alice):
    elsewhere = ChannelFactory(name="Not mine")

    response = signed_in.post(
        "/incidents/new/", {"channel": elsewhere.public_id, "title": "x", "severity": "info"}
    )

    assert response.status_code == 400
    assert not Incident.objects.exists()


def test_the_form_refuses_an_empty_title_and_keeps_what_was_written(signed_in, channel):
    response = signed_in.post(
        "/incidents/new/",
        {"channel": channel.public_id, "title": "", "description": "kept", "severity": "info"},
    )

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert "kept" in response.content.decode()
    assert not Incident.objects.exists()


def test_the_form_needs_the_csrf_token(alice, channel):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    values = {"channel": channel.public_id, "title": "x", "severity": "info"}

    assert client.post("/incidents/new/", values).status_code == 403
    token = client.get("/incidents/new/").cookies["csrftoken"].value
    response = client.post("/incidents/new/", {**values, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Incident.objects.count() == 1


def test_someone_in_no_channel_is_told_so(client, outsider):
    client.force_login(outsider)
    body = client.get("/incidents/new/").content.decode()
    assert "You are not a member of any channel" in body


def test_the_form_is_in_chinese(signed_in, channel):
    body = signed_in.get("/incidents/new/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "新建故障" in body
    assert "立即呼叫" in body
    assert "创建故障" in body


# --- the REST API --------------------------------------------------------------------------------


def test_the_api_opens_an_incident(channel, alice, bob, rule, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(alice).post(
            "/api/v1/incidents/",
            {
                "channel": str(channel.public_id),
                "title": "Checkout is slow",
                "severity": "critical",
                "page": [bob.pk],
            },
            format="json",
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["number"], body["title"], body["severity"], body["created_by"]) == (
        Incident.objects.get().number,
        "Checkout is slow",
        "critical",
        alice.pk,
    )
    assert body["alerts"][0]["source"] is None
    assert body["timeline"][0]["message"] == "Opened by Alice Chen"
    assert body["timeline"][0]["source"] == "api"
    assert notified_levels == [(Incident.objects.get().pk, 1)]


def test_the_api_refuses_a_channel_you_are_not_in(channel, outsider):
    response = api_as(outsider).post(
        "/api/v1/incidents/", {"channel": str(channel.public_id), "title": "x"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "You are not a member of this channel.",
    }
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 513}, "title"),
        ({"title": "ok", "severity": "apocalyptic"}, "severity"),
        ({"title": "ok", "page": [987654]}, "page"),
    ],
)
def test_the_api_refuses_bad_values_with_the_field(channel, alice, values, field):
    response = api_as(alice).post(
        "/api/v1/incidents/", {"channel": str(channel.public_id), **values}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"]
    assert field in error["fields"]
    assert not Incident.objects.exists()


def test_the_api_refuses_to_page_a_non_member(channel, alice, outsider):
    response = api_as(alice).post(
        "/api/v1/incidents/",
        {"channel": str(channel.public_id), "title": "x", "page": [outsider.pk]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Not a member of the channel")
    assert not Incident.objects.exists()


def test_the_schema_documents_opening_and_assigning(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "post" in schema["paths"]["/api/v1/incidents/"]
    assert "post" in schema["paths"]["/api/v1/incidents/{public_id}/assign/"]
    assert "NewIncidentRequest" in schema["components"]["schemas"]
    assign = schema["paths"]["/api/v1/incidents/{public_id}/assign/"]["post"]
    body = assign["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AssignRequest"}
    fields = schema["components"]["schemas"]["AssignRequest"]["properties"]
    assert {"user", "escalation_level", "escalation_rule"} <= set(fields)
