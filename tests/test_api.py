"""The REST API: tokens, scoping across two teams, every resource and incident action."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from oncall import lifecycle
from oncall.models import ActionSource, AlertSource, ApiToken, Incident, Route
from oncall.timeline import Actor
from tests import payloads
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    IncidentFactory,
    RouteFactory,
    UserFactory,
    api_as,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    """Two teams, each with a channel, a member and an incident; plus a staff admin."""
    db_team, web_team = ChannelFactory(name="Databases"), ChannelFactory(name="Web")
    dana, walt = UserFactory(username="dana"), UserFactory(username="walt")
    db_team.members.add(dana)
    web_team.members.add(walt)
    return {
        "db": db_team,
        "web": web_team,
        "dana": dana,
        "walt": walt,
        "db_incident": IncidentFactory(channel=db_team, title="Replica lag"),
        "web_incident": IncidentFactory(channel=web_team, title="5xx spike"),
        "admin": UserFactory(username="root", is_staff=True, is_superuser=True),
    }


@pytest.fixture
def dana(teams):
    return api_as(teams["dana"])


@pytest.fixture
def admin(teams):
    return api_as(teams["admin"])


class TestAuthentication:
    def test_token_and_bearer_schemes_both_work(self, teams):
        _, key = ApiToken.issue(teams["dana"], "ci")
        for scheme in ("Token", "Bearer"):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
            assert client.get("/api/v1/incidents/").status_code == 200

    def test_no_credentials_is_401_in_the_error_shape(self):
        response = APIClient().get("/api/v1/incidents/")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
        assert response["WWW-Authenticate"] == "Token"

    def test_a_wrong_key_is_401(self):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token oc_not-a-real-key")
        response = client.get("/api/v1/incidents/")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Invalid or revoked API token."

    def test_a_revoked_token_stops_working(self, teams, dana):
        token = ApiToken.objects.get(user=teams["dana"])
        assert dana.delete(f"/api/v1/tokens/{token.public_id}/").status_code == 204
        assert dana.get("/api/v1/incidents/").status_code == 401

    def test_only_the_keys_hash_is_stored(self, teams):
        token, key = ApiToken.issue(teams["dana"], "ci")
        assert key not in (token.key_hash, token.prefix)
        assert key.startswith(token.prefix)

    def test_the_command_prints_a_working_key(self, teams):
        out = io.StringIO()
        call_command("create_api_token", "dana", "--name", "terraform", stdout=out)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
        assert client.get("/api/v1/channels/").status_code == 200
        assert ApiToken.objects.get(user=teams["dana"], name="terraform")

    def test_session_requests_need_csrf(self, teams):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(teams["dana"])
        assert client.get("/api/v1/incidents/").status_code == 200
        url = f"/api/v1/incidents/{teams['db_incident'].public_id}/claim/"
        response = client.post(url)
        assert response.status_code == 403
        assert "CSRF" in response.json()["error"]["message"]

    def test_tokens_are_created_listed_and_shown_once(self, dana):
        created = dana.post("/api/v1/tokens/", {"name": "laptop"}, format="json").json()
        assert created["key"].startswith("oc_")
        listed = dana.get("/api/v1/tokens/").json()["results"]
        assert {t["name"] for t in listed} == {"tests", "laptop"}
        assert all(t["key"] is None for t in listed)

    def test_throttling_answers_429_with_retry_after(self, dana, settings):
        from django.core.cache import cache
        from rest_framework.settings import api_settings

        from oncall.api.throttling import PerTokenThrottle

        cache.clear()
        rates = {**api_settings.DEFAULT_THROTTLE_RATES, "api": "3/min"}
        PerTokenThrottle.THROTTLE_RATES = rates
        try:
            statuses = [dana.get("/api/v1/channels/").status_code for _ in range(4)]
            response = dana.get("/api/v1/channels/")
        finally:
            PerTokenThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
            cache.clear()
        assert statuses == [200, 200, 200, 429]
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        assert response.json()["error"]["code"] == "throttled"


class TestScoping:
    def test_members_see_only_their_channels_incidents_and_alerts(self, teams, dana, push):
        AlertSourceFactory(channel=teams["web"])
        push(AlertSourceFactory(channel=teams["db"]), payloads.alertmanager(payloads.am_alert()))
        push(AlertSourceFactory(channel=teams["web"]), payloads.alertmanager(payloads.am_alert()))

        channels = [c["name"] for c in dana.get("/api/v1/channels/").json()["results"]]
        incidents = dana.get("/api/v1/incidents/").json()["results"]
        alerts = dana.get("/api/v1/alerts/").json()["results"]
        assert channels == ["Databases"]
        assert {i["channel"] for i in incidents} == {str(teams["db"].public_id)}
        assert {a["channel"] for a in alerts} == {str(teams["db"].public_id)}

    def test_objects_outside_the_scope_are_404(self, teams, dana):
        other = teams["web_incident"].public_id
        assert dana.get(f"/api/v1/incidents/{other}/").status_code == 404
        response = dana.post(f"/api/v1/incidents/{other}/claim/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert dana.get(f"/api/v1/channels/{teams['web'].public_id}/").status_code == 404
        teams["web_incident"].refresh_from_db()
        assert teams["web_incident"].status == "triggered"

    def test_members_cannot_change_configuration(self, teams, dana):
        response = dana.post("/api/v1/channels/", {"name": "Mine"}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["message"] == (
            "Only staff with the permission oncall.add_channel may do this."
        )
        assert dana.get("/api/v1/alert-sources/").status_code == 403

    def test_staff_see_every_channel(self, teams, admin):
        names = {c["name"] for c in admin.get("/api/v1/channels/").json()["results"]}
        assert names == {"Databases", "Web"}


class TestConfiguration:
    def test_channels_are_created_with_members_and_grouping(self, teams, admin):
        response = admin.post(
            "/api/v1/channels/",
            {
                "name": "Payments",
                "description": "card flows",
                "members": [teams["dana"].pk],
                "group_by_labels": ["cluster"],
                "group_window_minutes": 30,
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["members"] == [teams["dana"].pk]
        assert body["group_by_labels"] == ["cluster"]
        assert body["auto_close"] is True

    def test_validation_errors_name_the_fields(self, admin):
        response = admin.post("/api/v1/channels/", {"group_by_labels": "cluster"}, format="json")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert set(error["fields"]) == {"name", "group_by_labels"}

    def test_an_alertmanager_source_is_created_and_shows_its_push_url(self, teams, admin):
        response = admin.post(
            "/api/v1/alert-sources/",
            {
                "name": "Prometheus",
                "kind": "alertmanager",
                "channel": str(teams["db"].public_id),
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        source = AlertSource.objects.get(name="Prometheus")
        assert response.json()["push_url"] == f"https://oncall.example.com/push/{source.token}"

    def test_rotate_token_gives_a_new_push_url(self, teams, admin):
        source = AlertSourceFactory(channel=teams["db"])
        old = source.push_url
        response = admin.post(f"/api/v1/alert-sources/{source.public_id}/rotate-token/")
        assert response.status_code == 200
        assert response.json()["push_url"] != old
        source.refresh_from_db()
        assert response.json()["push_url"] == source.push_url

    def test_unknown_kinds_and_severities_are_refused(self, admin):
        response = admin.post(
            "/api/v1/alert-sources/",
            {
                "name": "X",
                "kind": "nagios",
                "severity_overrides": {"P1": "urgent"},
            },
            format="json",
        )
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == {"kind", "severity_overrides"}

    def test_routes_are_validated_and_listed_per_source(self, teams, admin):
        source = AlertSourceFactory(channel=None)
        good = {
            "source": str(source.public_id),
            "position": 1,
            "name": "db",
            "channels": [str(teams["db"].public_id)],
            "matchers": [{"key": "labels.team", "op": "eq", "value": "db"}],
        }
        assert admin.post("/api/v1/routes/", good, format="json").status_code == 201

        bad = {**good, "matchers": [{"key": "labels.team", "op": "like", "value": "db"}]}
        response = admin.post("/api/v1/routes/", bad, format="json")
        assert response.status_code == 400
        assert "op must be one of" in response.json()["error"]["fields"]["matchers"][0]

        listed = admin.get(f"/api/v1/routes/?source__public_id={source.public_id}").json()
        assert [r["name"] for r in listed["results"]] == ["db"]
        assert Route.objects.count() == 1

    def test_a_second_default_route_is_refused(self, teams, admin):
        source = AlertSourceFactory(channel=None)
        RouteFactory(source=source, is_default=True, channels=[teams["db"]])
        response = admin.post(
            "/api/v1/routes/",
            {
                "source": str(source.public_id),
                "is_default": True,
                "channels": [str(teams["web"].public_id)],
            },
            format="json",
        )
        assert response.status_code == 400
        assert "default route already" in response.json()["error"]["fields"]["is_default"][0]

    def test_users_are_listed_for_picking_members(self, teams, dana):
        users = dana.get("/api/v1/users/").json()["results"]
        assert {"dana", "walt", "root"} <= {u["username"] for u in users}
        assert set(users[0]) == {"id", "username", "email", "name"}


class TestIncidents:
    def test_the_list_filters_and_pages_with_a_cursor(self, teams, dana):
        for n in range(5):
            IncidentFactory(channel=teams["db"], severity="warning", title=f"Warn {n}")
        first = dana.get("/api/v1/incidents/?page_size=2&severity=warning").json()
        second = dana.get(first["next"]).json()
        titles = [i["title"] for i in first["results"] + second["results"]]
        assert titles == ["Warn 4", "Warn 3", "Warn 2", "Warn 1"]

        q = dana.get("/api/v1/incidents/?q=replica").json()["results"]
        assert [i["title"] for i in q] == ["Replica lag"]
        number = teams["db_incident"].number
        by_number = dana.get("/api/v1/incidents/", {"q": f"#{number}"}).json()["results"]
        assert [i["number"] for i in by_number] == [number]

    def test_status_mine_and_time_filters(self, teams, dana):
        lifecycle.claim(teams["db_incident"], Actor(teams["dana"], ActionSource.WEB))
        IncidentFactory(channel=teams["db"], created_at=timezone.now() - timedelta(days=3))
        mine = dana.get("/api/v1/incidents/?mine=true").json()["results"]
        acked = dana.get("/api/v1/incidents/?status=acknowledged").json()["results"]
        since = (timezone.now() - timedelta(days=1)).isoformat()
        recent = dana.get("/api/v1/incidents/", {"created_after": since}).json()["results"]
        assert [i["title"] for i in mine] == ["Replica lag"]
        assert [i["title"] for i in acked] == ["Replica lag"]
        assert [i["title"] for i in recent] == ["Replica lag"]

    def test_the_detail_has_alerts_and_timeline(self, teams, dana, push):
        push(AlertSourceFactory(channel=teams["db"]), payloads.alertmanager(payloads.am_alert()))
        incident = Incident.objects.get(title="HighLatency on db-1:9100")
        body = dana.get(f"/api/v1/incidents/{incident.public_id}/").json()
        assert body["number"] == incident.number
        assert body["alerts"][0]["labels"]["alertname"] == "HighLatency"
        assert [e["kind"] for e in body["timeline"]] == ["created", "alert_added", "notified"]
        # The default rule's only level was notified: what is left is the end of it.
        assert body["escalation"]["next_level"] is None
        assert body["escalation"]["next_step_at"] is not None

    @pytest.mark.parametrize(
        ("setup", "action", "data", "status"),
        [
            ([], "claim", None, "acknowledged"),
            (["claim"], "unclaim", None, "triggered"),
            ([], "close", None, "closed"),
            (["close"], "reopen", None, "triggered"),
            ([], "snooze", {"duration": "2h"}, "triggered"),
            ([("snooze", {"duration": 30})], "wake", None, "triggered"),
        ],
    )
    def test_each_action_goes_through_the_lifecycle(self, teams, dana, setup, action, data, status):
        url = f"/api/v1/incidents/{teams['db_incident'].public_id}"
        for step in setup:
            name, body = step if isinstance(step, tuple) else (step, None)
            assert dana.post(f"{url}/{name}/", body, format="json").status_code == 200
        response = dana.post(f"{url}/{action}/", data, format="json")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["changed"] is True
        assert body["incident"]["status"] == status
        assert body["incident"]["timeline"][-1]["source"] == "api"
        assert body["incident"]["is_snoozed"] is (action == "snooze")

    def test_a_refused_action_is_409_naming_who_won(self, teams, dana):
        lifecycle.claim(teams["db_incident"], Actor(teams["admin"], ActionSource.WEB))
        response = dana.post(f"/api/v1/incidents/{teams['db_incident'].public_id}/claim/")
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "transition_refused"
        assert error["message"].startswith("Already claimed by root at ")

    def test_a_repeated_action_answers_unchanged(self, teams, dana):
        url = f"/api/v1/incidents/{teams['db_incident'].public_id}/close/"
        dana.post(url)
        body = dana.post(url).json()
        assert body["changed"] is False
        assert body["message"].startswith("Already closed by dana")

    @pytest.mark.parametrize(
        ("duration", "reason"),
        [
            ("soon", "is not a duration"),
            ("0m", "from 1 minute to 24 h"),
            ("3d", "from 1 minute to 24 h"),
            (None, "may not be null"),
        ],
    )
    def test_bad_snooze_durations_are_400(self, teams, dana, duration, reason):
        response = dana.post(
            f"/api/v1/incidents/{teams['db_incident'].public_id}/snooze/",
            {"duration": duration},
            format="json",
        )
        assert response.status_code == 400
        assert reason in str(response.json()["error"])
        teams["db_incident"].refresh_from_db()
        assert teams["db_incident"].snoozed_until is None

    def test_alerts_filter_by_incident(self, teams, dana, push):
        push(
            AlertSourceFactory(channel=teams["db"]),
            payloads.alertmanager(payloads.am_alert("A"), payloads.am_alert("B")),
        )
        incident = Incident.objects.filter(alerts__alert_key__startswith="fp-A").get()
        alerts = dana.get(f"/api/v1/alerts/?incident__public_id={incident.public_id}").json()
        assert [a["alert_key"] for a in alerts["results"]] == ["fp-A-db-1:9100"]


def test_the_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/incidents/{public_id}/claim/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_time_filters_accept_any_iso_offset(teams, dana):
    # Found by the schema fuzzer: PostgreSQL refuses offsets beyond +-15:59.
    response = dana.get("/api/v1/incidents/", {"created_after": "0581-10-19T10:56:26-19:55"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
