"""Noise reduction where admins configure it (admin, API) and where responders look (incident
list, incident page, API, Feishu card)."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from integrations.feishu.cards.render import incident_card
from oncall.models import InhibitRule
from tests.factories import IncidentFactory, api_as, staff_user

pytestmark = pytest.mark.django_db

RULE_PERMISSIONS = [f"oncall.{a}_inhibitrule" for a in ("view", "add", "change", "delete")]


def rule_body(channel, **extra) -> dict:
    return {
        "name": "critical inhibits warnings",
        "channel": str(channel.public_id),
        "new_alert_condition": [{"key": "severity", "op": "eq", "value": "warning"}],
        "active_condition": [[{"key": "severity", "op": "eq", "value": "critical"}]],
        "equal": ["labels.instance"],
        **extra,
    }


def test_staff_with_the_permissions_manage_inhibit_rules(channel):
    api = api_as(staff_user("ops", *RULE_PERMISSIONS))
    created = api.post("/api/v1/inhibit-rules/", rule_body(channel), format="json")
    assert created.status_code == 201, created.content
    rule = InhibitRule.objects.get()
    assert (rule.channel, rule.window_minutes, rule.action) == (channel, 10, "mark")

    url = f"/api/v1/inhibit-rules/{rule.public_id}/"
    changed = api.patch(url, {"action": "drop", "window_minutes": 30}, format="json")
    assert changed.status_code == 200, changed.content
    rule.refresh_from_db()
    assert (rule.action, rule.window_minutes) == ("drop", 30)
    assert api.delete(url).status_code == 204


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"channel": None}, "non_field_errors"),
        ({"equal": [], "new_alert_condition": []}, "equal"),
        ({"equal": ["instance"]}, "equal"),
        ({"active_condition": [{"key": "title", "op": "re", "value": "("}]}, "active_condition"),
        ({"window_minutes": 0}, "window_minutes"),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused_with_the_reason(channel, extra, field):
    api = api_as(staff_user("ops", *RULE_PERMISSIONS))
    body = {**rule_body(channel), **extra}
    refused = api.post("/api/v1/inhibit-rules/", body, format="json")
    assert refused.status_code == 400
    assert field in refused.json()["error"]["fields"]
    assert not InhibitRule.objects.exists()


def test_members_read_their_channels_rules_and_change_none(channel, responder):
    InhibitRule.objects.create(channel=channel, name="r", equal=["labels.host"])
    api = api_as(responder)
    assert [r["name"] for r in api.get("/api/v1/inhibit-rules/").json()["results"]] == ["r"]
    assert api.post("/api/v1/inhibit-rules/", rule_body(channel), format="json").status_code == 403


def test_outsiders_see_no_rules(channel, outsider):
    InhibitRule.objects.create(channel=channel, name="r", equal=["labels.host"])
    assert api_as(outsider).get("/api/v1/inhibit-rules/").json()["results"] == []


def test_the_channel_api_sets_and_checks_the_noise_settings(channel):
    api = api_as(staff_user("ops", "oncall.view_channel", "oncall.change_channel"))
    url = f"/api/v1/channels/{channel.public_id}/"
    branches = [
        {"condition": [{"key": "labels.team", "op": "eq", "value": "db"}], "group_by": ["cluster"]}
    ]
    answer = api.patch(
        url,
        {
            "grouping_branches": branches,
            "strict_grouping": True,
            "storm_thresholds": [50, 200],
            "flapping": "quiet",
            "flapping_times": 4,
            "flapping_minutes": 30,
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content
    channel.refresh_from_db()
    assert (channel.grouping_branches, channel.storm_thresholds, channel.flapping) == (
        branches,
        [50, 200],
        "quiet",
    )
    for bad in (
        {"grouping_branches": [{"group_by": ["x"]}]},
        {"storm_thresholds": [1]},
        {"flapping": "sometimes"},
        {"flapping_minutes": 0},
    ):
        refused = api.patch(url, bad, format="json")
        assert refused.status_code == 400, bad
        assert next(iter(bad)) in refused.json()["error"]["fields"]


def noisy(channel):
    return IncidentFactory(
        channel=channel, flapping_since=timezone.now(), storm_alerts=50, alert_count=57
    )


def test_the_incident_api_shows_and_filters_the_badges(channel, responder):
    flapping = noisy(channel)
    IncidentFactory(channel=channel)
    api = api_as(responder)
    found = api.get("/api/v1/incidents/?flapping=true").json()["results"]
    assert [i["number"] for i in found] == [flapping.number]
    assert (found[0]["is_flapping"], found[0]["is_storm"], found[0]["storm_alerts"]) == (
        True,
        True,
        50,
    )
    assert len(api.get("/api/v1/incidents/?storm=false").json()["results"]) == 1


def test_the_incident_list_and_page_show_the_badges(signed_in, channel):
    incident = noisy(channel)
    listed = signed_in.get("/incidents/").content.decode()
    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    for html in (listed, page):
        assert "flapping" in html
        assert "alert storm: 57 alerts" in html


def test_the_feishu_card_shows_a_badge_line(channel):
    text = json.dumps(incident_card(noisy(channel)), ensure_ascii=False)
    assert "⚠️ **Flapping** · **Alert storm: 57 alerts**" in text
    assert "⚠️" not in json.dumps(
        incident_card(IncidentFactory(channel=channel)), ensure_ascii=False
    )


def test_the_admin_pages_configure_noise_reduction(admin_client, channel):
    page = admin_client.get(f"/admin/oncall/channel/{channel.pk}/change/").content.decode()
    for field in ("strict_grouping", "flapping_times"):
        assert f'name="{field}"' in page
    assert 'name="storm_thresholds-item"' in page  # a list, one count a row
    assert 'name="grouping_branches-key"' in page  # rows of branches, not JSON
    assert "Add an inhibition rule" in page
    assert admin_client.get("/admin/oncall/inhibitrule/add/").status_code == 200
    posted = admin_client.post(
        "/admin/oncall/inhibitrule/add/",
        {
            "name": "r",
            "enabled": "on",
            "channel": channel.pk,
            "new_alert_condition-rows": "1",
            "active_condition-rows": "1",
            "equal-rows": "1",
            "equal-item": ["labels.host"],
            "window_minutes": "10",
            "action": "mark",
        },
    )
    assert posted.status_code == 302
    assert InhibitRule.objects.get().equal == ["labels.host"]
    noisy(channel)
    assert admin_client.get("/admin/oncall/incident/?noise=flapping").status_code == 200
