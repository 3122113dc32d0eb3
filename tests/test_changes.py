"""Change events end to end: pushed to a change source, recorded (never as an incident), listed
per channel, and shown on the next incident of their channel (page, API, card)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from integrations.feishu.cards.render import incident_card
from oncall import tasks
from oncall.models import Alert, ChangeEvent, InboundEvent, Incident
from tests import payloads
from tests.factories import AlertSourceFactory, ChannelFactory, RouteFactory, api_as

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "integrations" / "sources"


def fixture(name: str) -> dict[str, Any]:
    kind, case = name.split("/")
    return json.loads((FIXTURES / kind / "fixtures" / f"{case}.json").read_text("utf-8"))


def custom_change(key: str = "DEPLOY-7", *, minutes_ago: float = 10, **extra: Any) -> dict:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return {
        "change_key": key,
        "change_status": "Processing",
        "title": f"Deploy checkout-api ({key})",
        "link": f"https://deploy.example.com/{key}",
        "event_time": int(at.timestamp()),
        "labels": {"service": "checkout-api"},
        **extra,
    }


@pytest.fixture
def change_source(channel):
    return AlertSourceFactory(kind="change_custom", channel=channel, name="Deployments")


@pytest.fixture
def jira_source(channel):
    return AlertSourceFactory(kind="change_jira", channel=channel, name="Jira OPS")


@pytest.fixture
def alert_source(channel):
    return AlertSourceFactory(channel=channel)


def open_incident(push, source) -> Incident:
    assert push(source, payloads.alertmanager(payloads.am_alert())).status_code == 200
    return Incident.objects.latest("created_at")


# --- Recording ---------------------------------------------------------------------------------


def test_a_change_is_recorded_and_never_opens_an_incident(push, change_source, channel):
    response = push(change_source, custom_change())

    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 1
    assert body["change_keys"] == ["DEPLOY-7"]
    change = ChangeEvent.objects.get()
    assert (change.channel, change.source, change.status) == (channel, change_source, "processing")
    assert change.title == "Deploy checkout-api (DEPLOY-7)"
    assert not Alert.objects.exists()
    assert not Incident.objects.exists()
    inbound = InboundEvent.objects.get()
    assert body["request_id"] == str(inbound.request_id)
    assert inbound.status == InboundEvent.Status.PROCESSED  # nothing left for a worker
    assert inbound.events == []


def test_repeat_events_with_the_same_key_update_one_change(push, change_source):
    push(change_source, custom_change(minutes_ago=20))
    push(
        change_source,
        custom_change(minutes_ago=5, change_status="Done", title="Deployed", labels={"v": "2"}),
    )

    change = ChangeEvent.objects.get()
    assert change.status == "done"
    assert change.title == "Deployed"
    assert change.labels == {"v": "2"}
    assert change.event_count == 2
    assert change.changed_at - change.started_at == timedelta(minutes=15)


def test_a_late_event_does_not_overwrite_a_newer_one(push, change_source):
    push(change_source, custom_change(minutes_ago=5, change_status="Done"))
    push(change_source, custom_change(minutes_ago=30, change_status="Planned"))

    change = ChangeEvent.objects.get()
    assert change.status == "done"
    assert change.event_count == 2
    assert change.changed_at - change.started_at == timedelta(minutes=25)


def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(push, change_source):
    response = push(change_source, custom_change(change_status="Finished"))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert error["field"] == "change_status"
    assert not ChangeEvent.objects.exists()
    assert not InboundEvent.objects.exists()


def test_jira_created_then_done_is_one_change_keeping_its_first_title(push, jira_source):
    push(jira_source, fixture("change_jira/issue_created"))
    response = push(jira_source, fixture("change_jira/issue_transitioned_done"))

    assert response.status_code == 200
    assert response.json()["change_keys"] == ["OPS-123"]
    change = ChangeEvent.objects.get()
    assert change.status == "done"
    assert change.title == "[OPS-123/To Do] Upgrade the orders database to PostgreSQL 16"
    assert change.link == "https://acme-ops.atlassian.net/browse/OPS-123"
    assert change.labels["assignee"] == "Zhao Lei"
    assert change.event_count == 2
    assert not Incident.objects.exists()


def test_jira_comment_events_are_answered_200_and_record_nothing(push, jira_source):
    response = push(jira_source, fixture("change_jira/comment_created_ignored"))

    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert not ChangeEvent.objects.exists()


def test_jira_unmapped_status_is_a_400_naming_the_field(push, jira_source):
    response = push(jira_source, fixture("change_jira/bad_unmapped_status"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "issue.fields.status.name"
    assert not ChangeEvent.objects.exists()


def test_a_shared_change_source_routes_changes_by_labels(push):
    payments, search = ChannelFactory(name="Payments"), ChannelFactory(name="Search")
    route = RouteFactory(
        matchers=[{"key": "labels.service", "op": "eq", "value": "checkout-api"}],
        channels=[payments],
    )
    route.source.kind = "change_custom"
    route.source.save()

    routed = push(route.source, custom_change("A"))
    unrouted = push(route.source, custom_change("B", labels={"service": "search-api"}))

    assert routed.json()["unrouted"] == []
    assert unrouted.json()["unrouted"] == ["B"]
    assert [(c.change_key, c.channel) for c in ChangeEvent.objects.all()] == [("A", payments)]
    assert not search.changes.exists()


# --- Shown before the next incident ------------------------------------------------------------


def test_a_change_shows_on_the_next_incident_of_its_channel(
    push, change_source, alert_source, signed_in, responder
):
    push(change_source, custom_change("DEPLOY-7", minutes_ago=10))
    incident = open_incident(push, alert_source)

    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "Changes before this incident (1)" in page
    assert 'href="https://deploy.example.com/DEPLOY-7"' in page
    assert "Deploy checkout-api (DEPLOY-7)" in page

    detail = api_as(responder).get(f"/api/v1/incidents/{incident.public_id}/").json()
    assert [c["change_key"] for c in detail["changes_before"]] == ["DEPLOY-7"]
    assert detail["changes_before"][0]["status"] == "processing"

    card = json.dumps(incident_card(incident), ensure_ascii=False)
    assert "Changes before this incident" in card
    assert "[Deploy checkout-api (DEPLOY-7)](https://deploy.example.com/DEPLOY-7)" in card


def test_a_change_older_than_the_window_does_not_show(
    push, change_source, alert_source, signed_in, responder, settings
):
    settings.CHANGE_LOOKBACK_MINUTES = 60
    push(change_source, custom_change("OLD-1", minutes_ago=90))
    incident = open_incident(push, alert_source)

    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "Changes before this incident (0)" in page
    assert "OLD-1" not in page
    detail = api_as(responder).get(f"/api/v1/incidents/{incident.public_id}/").json()
    assert detail["changes_before"] == []
    assert "Changes before this incident" not in json.dumps(incident_card(incident))


def test_the_window_is_a_setting(push, change_source, alert_source, responder, settings):
    settings.CHANGE_LOOKBACK_MINUTES = 120
    push(change_source, custom_change("OLD-1", minutes_ago=90))
    incident = open_incident(push, alert_source)

    detail = api_as(responder).get(f"/api/v1/incidents/{incident.public_id}/").json()
    assert [c["change_key"] for c in detail["changes_before"]] == ["OLD-1"]


def test_a_long_change_still_under_way_in_the_window_shows(push, change_source, alert_source):
    # Planned two hours before, under way ten minutes before: it was changing when it broke.
    push(change_source, custom_change("LONG-1", minutes_ago=120, change_status="Planned"))
    push(change_source, custom_change("LONG-1", minutes_ago=10))
    incident = open_incident(push, alert_source)

    assert [c["change_key"] for c in _changes_before(incident)] == ["LONG-1"]


def test_a_change_after_the_incident_opened_is_not_before_it(push, change_source, alert_source):
    incident = open_incident(push, alert_source)
    push(change_source, custom_change("LATER-1", minutes_ago=-5))

    assert _changes_before(incident) == []


def test_a_change_of_another_channel_shows_when_its_service_label_matches(push, alert_source):
    other = AlertSourceFactory(kind="change_custom", channel=ChannelFactory(name="Platform"))
    push(other, custom_change("SVC-1", labels={"service": "checkout-api"}))
    push(other, custom_change("SVC-2", labels={"service": "search-api"}))
    response = push(alert_source, payloads.alertmanager(payloads.am_alert(service="checkout-api")))
    assert response.status_code == 200
    incident = Incident.objects.get()

    assert [c["change_key"] for c in _changes_before(incident)] == ["SVC-1"]


def _changes_before(incident: Incident) -> list[dict]:
    from oncall.api.serializers import IncidentDetailSerializer

    return IncidentDetailSerializer(incident).data["changes_before"]


# --- Listed per channel ------------------------------------------------------------------------


def test_the_channel_lists_its_changes_latest_first_filtered_by_time(
    push, change_source, signed_in, channel
):
    push(change_source, custom_change("EARLY", minutes_ago=300))
    push(change_source, custom_change("LATE", minutes_ago=5))

    page = signed_in.get(f"/channels/{channel.public_id}/changes/").content.decode()
    assert page.index("(LATE)") < page.index("(EARLY)")

    since = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    filtered = signed_in.get(f"/channels/{channel.public_id}/changes/", {"since": since})
    assert "(LATE)" in filtered.content.decode()
    assert "(EARLY)" not in filtered.content.decode()

    detail = signed_in.get(f"/channels/{channel.public_id}/").content.decode()
    assert "Recent changes" in detail
    assert "(LATE)" in detail


def test_a_channel_s_changes_are_hidden_from_outsiders(push, change_source, client, outsider):
    push(change_source, custom_change())
    client.force_login(outsider)

    response = client.get(f"/channels/{change_source.channel.public_id}/changes/")

    assert response.status_code == 404


def test_the_api_lists_changes_per_channel(push, change_source, responder, outsider, channel):
    push(change_source, custom_change("A", minutes_ago=30))
    push(change_source, custom_change("B", minutes_ago=3))
    other = AlertSourceFactory(kind="change_custom", channel=ChannelFactory())
    push(other, custom_change("ELSEWHERE"))

    listed = api_as(responder).get("/api/v1/changes/", {"channel": str(channel.public_id)})
    assert listed.status_code == 200
    assert [c["change_key"] for c in listed.json()["results"]] == ["B", "A"]
    assert listed.json()["results"][0]["channel"] == str(channel.public_id)

    mine = api_as(responder).get("/api/v1/changes/").json()["results"]
    assert {c["change_key"] for c in mine} == {"A", "B"}  # not the other channel's
    assert api_as(outsider).get("/api/v1/changes/").json()["results"] == []


def test_the_admin_lists_changes_read_only(push, change_source, admin_client):
    push(change_source, custom_change())

    listed = admin_client.get("/admin/oncall/changeevent/")
    change = ChangeEvent.objects.get()
    shown = admin_client.get(f"/admin/oncall/changeevent/{change.pk}/change/")

    assert listed.status_code == 200
    assert "DEPLOY-7" in listed.content.decode()
    assert shown.status_code == 200
    assert admin_client.get("/admin/oncall/changeevent/add/").status_code == 403


def test_the_readme_s_curl_example_records_a_change(push, change_source):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    section = readme.split("### Change events", 1)[1]
    body = section.split("-d '", 1)[1].split("'\n", 1)[0]

    response = push(change_source, json.loads(body))

    assert response.status_code == 200
    assert ChangeEvent.objects.get().change_key == "DEPLOY-2041"


def test_a_change_source_s_admin_page_shows_its_set_up_and_its_changes(
    push, change_source, jira_source, admin_client
):
    push(change_source, custom_change())

    page = admin_client.get(f"/admin/oncall/alertsource/{change_source.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "curl -sS" in html
    assert "change_status" in html
    assert f"?source__id__exact={change_source.pk}" in html
    assert "1 change<" in html

    jira = admin_client.get(f"/admin/oncall/alertsource/{jira_source.pk}/change/").content
    assert "Create a WebHook" in jira.decode()
    assert "No change recorded yet." in jira.decode()


def test_changes_past_their_retention_are_purged(change_source, channel, settings):
    settings.CHANGE_RETENTION_DAYS = 30
    now = timezone.now()
    for key, days in (("OLD", 31), ("RECENT", 29)):
        ChangeEvent.objects.create(
            channel=channel,
            source=change_source,
            change_key=key,
            title=key,
            status="done",
            started_at=now - timedelta(days=days),
            changed_at=now - timedelta(days=days),
            received_at=now,
            updated_at=now,
        )

    assert tasks.purge_change_events() == 1
    assert list(ChangeEvent.objects.values_list("change_key", flat=True)) == ["RECENT"]
