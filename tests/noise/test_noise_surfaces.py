"""Pipelines, silences and maintenance windows in the admin and the REST API: permissions as the
rest of the configuration, the try-it previews, and the alert list's filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall.models import Alert, MaintenanceWindow, PipelineRule, Silence
from tests.factories import api_as, staff_user
from tests.noise.pushes import standard_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(channel):
    """A standard-protocol source (this module pushes with ``emit``)."""
    return standard_source(channel)


DROP_DEV = [{"key": "labels.env", "op": "eq", "value": "dev"}]


def perms(model: str) -> tuple[str, ...]:
    return tuple(f"oncall.{a}_{model}" for a in ("view", "add", "change", "delete"))


@pytest.fixture
def admin_api(db):
    return api_as(
        staff_user(
            "ops",
            *perms("pipelinerule"),
            *perms("silence"),
            *perms("maintenancewindow"),
            "oncall.view_alertsource",
        )
    )


# --- Admin -------------------------------------------------------------------------------------


def test_the_source_page_lists_its_rules_and_what_they_dropped_today(admin_client, source, emit):
    PipelineRule.objects.create(source=source, action="drop", condition=DROP_DEV, name="No dev")
    emit(env="dev")
    emit(key="kept", env="prod")
    page = admin_client.get(f"/admin/oncall/alertsource/{source.pk}/change/").content.decode()
    assert "No dev" in page
    assert "Dropped by pipeline: 1 today." in page
    assert "Try the rules on this event" in page

    listed = admin_client.get(
        f"/admin/oncall/alert/?source__id__exact={source.pk}&suppressed__exact=pipeline_dropped"
    )
    assert [a.alert_key for a in listed.context["cl"].result_list] == ["cpu-web-1"]


def test_the_admin_tries_the_rules_on_the_page_unsaved(admin_client, source, emit):
    emit(title="as sent")
    form = {
        "pipeline_rules-TOTAL_FORMS": "1",
        "pipeline_rules-INITIAL_FORMS": "0",
        "pipeline_rules-0-position": "1",
        "pipeline_rules-0-enabled": "on",
        "pipeline_rules-0-action": "set_title",
        "pipeline_rules-0-template": "[db] {{ Title }}",
        "pipeline_rules-0-condition": "[]",
        "pipeline_rules-0-labels": "{}",
        "event": "0",
    }
    url = f"/admin/oncall/alertsource/{source.pk}/try-pipeline/"
    answer = admin_client.post(url, form).json()
    assert (answer["before"]["title"], answer["after"]["title"]) == ("as sent", "[db] as sent")
    assert not PipelineRule.objects.exists()

    broken = admin_client.post(url, {**form, "pipeline_rules-0-template": "{{ Title "}).json()
    assert "1 template" in broken["errors"]


def test_the_admin_adds_a_weekly_silence_with_days_and_a_time_zone(admin_client, channel):
    response = admin_client.post(
        "/admin/oncall/silence/add/",
        {
            "channel": channel.pk,
            "name": "Weekend",
            "enabled": "on",
            "behaviour": "mark",
            "condition": "[]",
            "kind": "weekly",
            "weekdays": ["5", "6"],
            "time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    silence = Silence.objects.get()
    assert (silence.weekdays, silence.time_zone) == ([5, 6], "Asia/Shanghai")


# --- API ----------------------------------------------------------------------------------------


def test_pipeline_rules_are_staff_configuration(admin_api, responder, source):
    body = {
        "source": str(source.public_id),
        "position": 1,
        "action": "set_severity",
        "severity": "critical",
    }
    assert api_as(responder).post("/api/v1/pipeline-rules/", body, format="json").status_code == 403
    created = admin_api.post("/api/v1/pipeline-rules/", body, format="json")
    assert created.status_code == 201, created.json()
    bad = admin_api.post("/api/v1/pipeline-rules/", {**body, "severity": ""}, format="json")
    assert bad.status_code == 400
    assert "severity" in str(bad.json())
    listed = admin_api.get(f"/api/v1/pipeline-rules/?source__public_id={source.public_id}")
    assert [r["action"] for r in listed.json()["results"]] == ["set_severity"]


def test_the_api_tries_rules_on_a_recent_or_a_given_event(admin_api, source, emit):
    emit(title="as sent", env="dev")
    rules = [{"action": "drop", "condition": DROP_DEV}]
    tried = admin_api.post(
        "/api/v1/pipeline-rules/try/",
        {"source": str(source.public_id), "rules": rules},
        format="json",
    )
    assert tried.status_code == 200, tried.json()
    assert tried.json()["dropped"] is True
    given = admin_api.post(
        "/api/v1/pipeline-rules/try/",
        {
            "source": str(source.public_id),
            "rules": [{"action": "set_labels", "labels": {"team": "{{ Labels.env }}-ops"}}],
            "event": {"title": "x", "severity": "info", "labels": {"env": "prod"}},
        },
        format="json",
    )
    assert given.json()["after"]["labels"] == {"env": "prod", "team": "prod-ops"}
    broken = admin_api.post(
        "/api/v1/pipeline-rules/try/",
        {"source": str(source.public_id), "rules": [{"action": "set_title"}]},
        format="json",
    )
    assert broken.status_code == 400


def test_members_read_their_channels_silences_and_staff_change_them(admin_api, responder, channel):
    now = timezone.now()
    body = {
        "channel": str(channel.public_id),
        "name": "Deploy",
        "kind": "once",
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "condition": [
            [{"key": "labels.env", "op": "eq", "value": "dev"}],
            [{"key": "severity", "op": "eq", "value": "info"}],
        ],
    }
    member = api_as(responder)
    assert member.post("/api/v1/silences/", body, format="json").status_code == 403
    created = admin_api.post("/api/v1/silences/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["active_until"] is not None
    listed = member.get("/api/v1/silences/").json()["results"]
    assert [s["name"] for s in listed] == ["Deploy"]
    no_end = admin_api.post("/api/v1/silences/", {**body, "ends_at": None}, format="json")
    assert no_end.status_code == 400
    assert "ends_at" in str(no_end.json())


def test_maintenance_windows_in_the_api(admin_api, responder, channel, source):
    now = timezone.now()
    body = {
        "name": "Upgrade",
        "channel": str(channel.public_id),
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
    }
    assert (
        api_as(responder).post("/api/v1/maintenance-windows/", body, format="json").status_code
        == 403
    )
    created = admin_api.post("/api/v1/maintenance-windows/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["running"] is True
    both = {**body, "source": str(source.public_id)}
    assert admin_api.post("/api/v1/maintenance-windows/", both, format="json").status_code == 400
    assert [
        w["name"] for w in api_as(responder).get("/api/v1/maintenance-windows/").json()["results"]
    ] == ["Upgrade"]


def _bodies(channel) -> dict[str, dict]:
    now = timezone.now()
    return {
        "silences": {
            "channel": str(channel.public_id),
            "name": "Deploy",
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
        "maintenance-windows": {
            "channel": str(channel.public_id),
            "name": "Upgrade",
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
        "inhibit-rules": {
            "channel": str(channel.public_id),
            "name": "critical first",
            "equal": ["labels.host"],
        },
    }


@pytest.mark.parametrize(
    ("resource", "model"),
    [
        ("silences", "silence"),
        ("maintenance-windows", "maintenancewindow"),
        ("inhibit-rules", "inhibitrule"),
    ],
)
def test_staff_who_may_only_add_give_rows_to_their_own_channels(channel, resource, model):
    adder = staff_user("adder", f"oncall.add_{model}")
    body = _bodies(channel)[resource]
    refused = api_as(adder).post(f"/api/v1/{resource}/", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"channel": ["No such channel."]}
    channel.members.add(adder)
    created = api_as(adder).post(f"/api/v1/{resource}/", body, format="json")
    assert created.status_code == 201, created.json()


@pytest.mark.parametrize(
    ("resource", "change", "field"),
    [
        ("silences", {"kind": "weekly"}, "weekdays"),  # weekly, on no day
        ("maintenance-windows", {"ends_at": "2000-01-01T00:00:00Z"}, "ends_at"),  # before start
        ("inhibit-rules", {"equal": []}, "equal"),  # nothing left to inhibit by
    ],
)
def test_a_change_is_checked_on_the_row_as_it_would_be_saved(
    admin_user, channel, resource, change, field
):
    api = api_as(admin_user)
    created = api.post(f"/api/v1/{resource}/", _bodies(channel)[resource], format="json")
    assert created.status_code == 201, created.json()
    refused = api.patch(f"/api/v1/{resource}/{created.json()['id']}/", change, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == [field]


def test_members_read_the_windows_of_the_sources_that_feed_their_channels(
    responder, channel, source
):
    now = timezone.now()
    MaintenanceWindow.objects.create(
        name="Exporter upgrade", source=source, starts_at=now, ends_at=now + timedelta(hours=1)
    )
    listed = api_as(responder).get("/api/v1/maintenance-windows/").json()["results"]
    assert [w["name"] for w in listed] == ["Exporter upgrade"]


def test_the_alert_list_filters_silenced_and_dropped_by_pipeline(
    emit, source, channel, responder, admin_api
):
    PipelineRule.objects.create(source=source, action="drop", condition=DROP_DEV)
    Silence.objects.create(
        channel=channel,
        name="s",
        ends_at=timezone.now() + timedelta(hours=1),
        condition=[{"key": "labels.env", "op": "eq", "value": "qa"}],
    )
    emit(key="dropped", env="dev")
    emit(key="silenced", env="qa")
    emit(key="plain", env="prod")
    api = api_as(responder)

    def keys(query: str) -> list[str]:
        return [a["alert_key"] for a in api.get(f"/api/v1/alerts/?{query}").json()["results"]]

    assert keys("suppressed=pipeline_dropped") == ["dropped"]
    assert keys("suppressed=silenced") == ["silenced"]
    assert keys("suppressed=inhibited") == []
    assert keys("suppressed__isnull=true") == ["plain"]
    dropped = api.get("/api/v1/alerts/?suppressed=pipeline_dropped").json()["results"][0]
    assert dropped["pipeline"][0]["action"] == "drop"
    assert Alert.objects.get(alert_key="silenced").silence_hold is not None
    answer = admin_api.get(f"/api/v1/alert-sources/{source.public_id}/").json()
    assert answer["pipeline_dropped_today"] == 1


def test_the_admin_pages_of_silences_and_windows_render(admin_client, channel):
    silence = Silence.objects.create(
        channel=channel, name="Nights", kind="weekly", weekdays=[0, 1], time_zone="UTC"
    )
    page = admin_client.get(f"/admin/oncall/silence/{silence.pk}/change/")
    assert page.status_code == 200
    assert admin_client.get("/admin/oncall/silence/?state=current").status_code == 200
    now = timezone.now()
    added = admin_client.post(
        "/admin/oncall/maintenancewindow/add/",
        {
            "name": "Upgrade",
            "channel": channel.pk,
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": "00:00:00",
            "ends_at_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
            "ends_at_1": "00:00:00",
        },
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    assert admin_client.get("/admin/oncall/maintenancewindow/").status_code == 200
