"""The admin as a product screen: every page renders, URLs are copyable, state changes go
through the lifecycle service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oncall.models import AlertSource, Incident, Route, TimelineEntry
from tests import payloads
from tests.factories import AlertSourceFactory, ChannelFactory, IncidentFactory


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel, name="Prometheus prod")


@pytest.mark.parametrize(
    "model", ["channel", "alertsource", "incident", "alert", "inboundevent", "apitoken"]
)
def test_every_list_page_renders(admin_client, push, source, model):
    push(source, payloads.alertmanager(payloads.am_alert()))
    response = admin_client.get(reverse(f"admin:oncall_{model}_changelist"))
    assert response.status_code == 200


def test_the_source_page_shows_its_push_url_with_a_copy_button(admin_client, source, push):
    push(source, payloads.alertmanager(payloads.am_alert(), truncated=2))
    page = admin_client.get(reverse("admin:oncall_alertsource_change", args=[source.pk]))
    html = page.content.decode()
    assert f'value="https://oncall.example.com/push/{source.token}"' in html
    assert f'data-copy-target="push-url-{source.pk}"' in html
    assert "oncall/copy.js" in html
    assert "left out 2 alert(s)" in html  # the recent events


def test_an_admin_creates_a_shared_source_with_routes(admin_client, channel):
    response = admin_client.post(
        reverse("admin:oncall_alertsource_add"),
        {
            "name": "Shared Alertmanager",
            "kind": "alertmanager",
            "enabled": "on",
            "severity_overrides": "{}",
            "channel": "",
        },
    )
    assert response.status_code == 302
    source = AlertSource.objects.get(name="Shared Alertmanager")
    assert source.is_shared

    change_url = reverse("admin:oncall_alertsource_change", args=[source.pk])
    form = {
        "name": source.name,
        "kind": "alertmanager",
        "enabled": "on",
        "severity_overrides": "{}",
        "channel": "",
        "routes-TOTAL_FORMS": "1",
        "routes-INITIAL_FORMS": "0",
        "routes-0-position": "1",
        "routes-0-name": "db team",
        "routes-0-stop": "on",
        "routes-0-channels": [str(channel.pk)],
        # The matchers as the admin's rows post them (oncall.admin.structured).
        "routes-0-matchers-rows": "1",
        "routes-0-matchers-key": ["labels.team"],
        "routes-0-matchers-op": ["eq"],
        "routes-0-matchers-value": ["db"],
        "pipeline_rules-TOTAL_FORMS": "0",
        "pipeline_rules-INITIAL_FORMS": "0",
    }
    assert admin_client.post(change_url, form).status_code == 302
    route = Route.objects.get(source=source)
    assert list(route.channels.all()) == [channel]
    assert route.matchers == [{"key": "labels.team", "op": "eq", "value": "db"}]

    form["routes-0-matchers-op"] = ["like"]
    form["routes-0-name"] = "broken"
    response = admin_client.post(change_url, form)
    assert response.status_code == 200
    assert "Choose an operator." in response.content.decode()
    assert not Route.objects.filter(name="broken").exists()


def test_invalid_severity_overrides_are_refused(admin_client, channel):
    response = admin_client.post(
        reverse("admin:oncall_alertsource_add"),
        {
            "name": "Bad",
            "kind": "alertmanager",
            "channel": channel.pk,
            "severity_overrides-rows": "1",
            "severity_overrides-key": ["P1"],
            "severity_overrides-value": ["urgent"],
        },
    )
    assert response.status_code == 200
    assert "Choose one of the values offered." in response.content.decode()
    assert not AlertSource.objects.filter(name="Bad").exists()


def test_rotating_a_token_changes_the_push_url(admin_client, source):
    old = source.token
    admin_client.post(
        reverse("admin:oncall_alertsource_changelist"),
        {"action": "rotate_tokens", "_selected_action": [source.pk]},
    )
    source.refresh_from_db()
    assert source.token != old


def test_incident_actions_go_through_the_lifecycle(admin_client, admin_user, channel):
    incident = IncidentFactory(channel=channel)
    url = reverse("admin:oncall_incident_changelist")
    admin_client.post(url, {"action": "claim", "_selected_action": [incident.pk]})
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.claimed_by == admin_user
    entry = incident.timeline.get()
    assert (entry.kind, entry.source) == (TimelineEntry.Kind.CLAIMED, "web")

    admin_client.post(url, {"action": "close", "_selected_action": [incident.pk]})
    response = admin_client.post(
        url, {"action": "claim", "_selected_action": [incident.pk]}, follow=True
    )
    assert "Cannot claim: already closed by admin" in response.content.decode()


def test_the_incident_page_shows_alerts_and_timeline_read_only(admin_client, push, source):
    push(source, payloads.alertmanager(payloads.am_alert()))
    incident = Incident.objects.get()
    page = admin_client.get(reverse("admin:oncall_incident_change", args=[incident.pk]))
    html = page.content.decode()
    assert "HighLatency on db-1:9100" in html
    assert "Alert added: HighLatency on db-1:9100" in html
    assert 'name="status"' not in html  # state changes only through actions


def test_a_channel_can_be_created_with_grouping(admin_client):
    response = admin_client.post(
        reverse("admin:oncall_channel_add"),
        {
            "name": "Databases",
            "group_by_labels-rows": "1",
            "group_by_labels-item": ["cluster"],
            "group_window_minutes": "30",
            "auto_close": "on",
            # noise reduction, as the form shows them by default
            "grouping_branches": "[]",
            "storm_thresholds-rows": "1",
            "flapping": "off",
            "flapping_times": "3",
            "flapping_minutes": "60",
        },
    )
    assert response.status_code == 302
    channel = ChannelFactory._meta.model.objects.get(name="Databases")
    assert channel.group_by_labels == ["cluster"]
    listing = admin_client.get(reverse("admin:oncall_channel_changelist")).content.decode()
    assert "by cluster within 30 min" in listing


def test_an_admin_issues_an_api_token_and_sees_the_key_once(admin_client, responder):
    from oncall.models import ApiToken

    response = admin_client.post(
        reverse("admin:oncall_apitoken_add"), {"user": responder.pk, "name": "grafana"}, follow=True
    )
    html = response.content.decode()
    token = ApiToken.objects.get(name="grafana")
    assert "Copy the key now" in html
    assert f"{token.prefix}" in html
    assert token.user == responder


def test_adding_a_source_lands_on_its_push_url(admin_client, channel):
    response = admin_client.post(
        reverse("admin:oncall_alertsource_add"),
        {"name": "Grafana", "kind": "grafana", "severity_overrides": "{}", "channel": channel.pk},
        follow=True,
    )
    source = AlertSource.objects.get(name="Grafana")
    assert response.redirect_chain == [
        (reverse("admin:oncall_alertsource_change", args=[source.pk]), 302)
    ]
    html = response.content.decode()
    assert "Its push URL is below" in html
    assert f'value="{source.push_url}" size="{len(source.push_url) + 2}"' in html
    assert f'data-copy-target="push-url-{source.pk}"' in html


def test_saving_a_source_stays_on_its_push_url_and_the_other_buttons_keep_their_ways(
    admin_client, source
):
    url = reverse("admin:oncall_alertsource_change", args=[source.pk])
    form = {"name": "Renamed", "kind": source.kind, "severity_overrides": "{}"}
    form["channel"] = source.channel_id
    form |= {"pipeline_rules-TOTAL_FORMS": "0", "pipeline_rules-INITIAL_FORMS": "0"}
    assert admin_client.post(url, form)["Location"] == url
    add_another = admin_client.post(url, {**form, "_addanother": "1"})
    assert add_another["Location"] == reverse("admin:oncall_alertsource_add")
