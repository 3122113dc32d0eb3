"""The custom webhook end to end (push → incident, the admin's mapping editor and "Try on a
sample", the API's test-mapping), and the refused pushes every source keeps (recent failures)."""

from __future__ import annotations

import json
import re

import pytest
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from integrations.sources.custom_webhook.source import example_options
from oncall.models import Alert, AlertSource, Incident, RefusedPush
from tests.factories import AlertSourceFactory, api_as, staff_user
from tests.sources.conftest import _read as read_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel, kind="custom_webhook", options=example_options())


def change_url(source: AlertSource) -> str:
    return reverse("admin:oncall_alertsource_change", args=[source.pk])


def try_url(source: AlertSource) -> str:
    return reverse("admin:oncall_alertsource_try_sample", args=[source.pk])


def page_form(source: AlertSource, **changes: str) -> dict[str, str]:
    """The change form as the page posts it, option fields included."""
    form = {
        "name": source.name,
        "kind": source.kind,
        "description": "",
        "enabled": "on",
        "channel": str(source.channel_id),
        "severity_overrides": "{}",
        "option_alerts": "body.results",
        "option_title": "{{ alert.check.name }}",
        "option_description": "{{ alert.detail }}",
        "option_alert_key": "{{ alert.check_id }}",
        "option_severity": "{{ alert.priority }}",
        "option_severity_map": "P1 = critical\nP3 = warning",
        "option_default_severity": "warning",
        "option_status": "{{ alert.state }}",
        "option_recovery_values": "passing",
        "option_labels": "alert.tags",
        "option_extra_labels": "origin = {{ body.origin }}",
        "option_links": "[{'href': alert.dashboard, 'text': 'Check'}]",
        # The pipeline rules inline (none).
        "pipeline_rules-TOTAL_FORMS": "0",
        "pipeline_rules-INITIAL_FORMS": "0",
    }
    form.update({f"option_{key}": value for key, value in changes.items()})
    return form


# --- push -----------------------------------------------------------------------------------------


def test_a_push_opens_incidents_and_a_recovery_resolves_its_alert(push, source):
    fired = push(source, read_fixture("custom_webhook/firing"))

    assert fired.status_code == 200
    assert fired.json()["alert_keys"] == ["chk-41", "chk-77"]
    alert = Alert.objects.get(alert_key="chk-41")
    assert (alert.title, alert.severity, alert.status) == (
        "Checkout API latency",
        "critical",
        "firing",
    )
    assert alert.labels["team"] == "payments"
    assert Incident.objects.count() == 2

    recovered = push(source, read_fixture("custom_webhook/recovered"))

    assert recovered.status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_a_body_the_mapping_cannot_read_is_a_400_naming_the_field_and_is_kept(push, source):
    body = read_fixture("custom_webhook/bad_tags_not_object")

    response = push(source, body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "mapping.labels"
    assert "must be an object" in error["message"]
    assert not Alert.objects.exists()
    refused = RefusedPush.objects.get()
    assert (refused.source, refused.status, refused.code) == (source, 400, "invalid_payload")
    assert refused.field == "mapping.labels"
    assert json.loads(refused.payload) == body


def test_the_source_page_shows_recent_failures_with_their_payloads(admin_client, push, source):
    push(source, read_fixture("custom_webhook/bad_no_results"))

    page = admin_client.get(change_url(source)).content.decode()

    assert "Recent failures" in page
    assert "mapping.alerts" in page
    assert "must give a list of alerts" in page
    assert "&quot;check_id&quot;: &quot;chk-41&quot;" in page  # the payload, escaped


# --- recent failures, for every kind --------------------------------------------------------------


def test_every_kind_keeps_its_refused_bodies(push, channel):
    standard = AlertSourceFactory(channel=channel, kind="standard")

    response = push(standard, None, raw=b'{"event_status": "Warning", "title": ')

    assert response.status_code == 400
    refused = RefusedPush.objects.get(source=standard)
    assert refused.code == "invalid_json"
    assert refused.payload == '{"event_status": "Warning", "title": '


def test_refused_tokens_and_methods_are_not_kept(client, source):
    assert client.post("/push/nope", data="{}", content_type="application/json").status_code == 401
    assert client.get(f"/push/{source.token}").status_code == 405

    assert not RefusedPush.objects.exists()


def test_headers_and_the_query_string_are_never_kept(client, source):
    client.post(
        f"/push/?integration_key={source.token}",
        data='{"results": "x"}',
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer very-secret-value",
    )

    refused = RefusedPush.objects.get()
    kept = json.dumps([refused.payload, refused.message, refused.field, refused.code])
    assert "very-secret-value" not in kept
    assert source.token not in kept


def test_a_flood_of_bad_pushes_keeps_the_last_twenty(push, source):
    for number in range(RefusedPush.KEEP + 7):
        push(source, {"results": f"bad {number}"})

    kept = list(RefusedPush.objects.filter(source=source).values_list("payload", flat=True))
    assert len(kept) == RefusedPush.KEEP
    assert json.loads(kept[0]) == {"results": f"bad {RefusedPush.KEEP + 6}"}  # newest first
    assert json.loads(kept[-1]) == {"results": "bad 7"}


def test_a_big_payload_is_cut_to_16_kb(push, source):
    push(source, {"results": "x" * 40_000})

    refused = RefusedPush.objects.get()
    assert len(refused.payload.encode()) == RefusedPush.MAX_PAYLOAD_BYTES
    assert refused.payload_truncated
    assert refused.body_bytes > 40_000


def test_a_failure_to_record_still_answers_400(push, source, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(RefusedPush.objects, "create", broken)

    response = push(source, {"results": 1})

    assert response.status_code == 400
    assert "could not record the refused push" in caplog.text


def test_the_api_lists_a_sources_failures(push, source, admin_user):
    push(source, {"results": 1})

    response = api_as(admin_user).get(f"/api/v1/alert-sources/{source.public_id}/failures/")

    assert response.status_code == 200
    [failure] = response.json()
    assert failure["field"] == "mapping.alerts"
    assert json.loads(failure["payload"]) == {"results": 1}
    assert failure["status"] == 400


# --- the admin's mapping editor -------------------------------------------------------------------


def test_the_source_page_edits_the_mapping_in_plain_fields(admin_client, source):
    page = admin_client.get(change_url(source)).content.decode()

    assert 'name="option_title"' in page
    assert 'name="options"' not in page
    assert "P1 = critical" in page
    assert "Test mapping" in page

    response = admin_client.post(
        change_url(source), page_form(source, title="{{ alert.check_id }}")
    )

    assert response.status_code == 302
    source.refresh_from_db()
    assert source.options["title"] == "{{ alert.check_id }}"
    assert source.options["severity_map"] == {"P1": "critical", "P3": "warning"}
    assert source.options["extra_labels"] == {"origin": "{{ body.origin }}"}


def test_a_bad_template_is_shown_on_its_field_and_nothing_is_saved(admin_client, source):
    response = admin_client.post(change_url(source), page_form(source, title="{{ alert.name }"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["option_title"] == ["template syntax error at line 1: unexpected '}'"]
    source.refresh_from_db()
    assert source.options["title"] == "{{ alert.check.name }}"  # nothing saved


# --- "Try on a sample" ----------------------------------------------------------------------------


def try_sample(client, source, sample, **changes):
    form = page_form(source, **changes)
    form["sample"] = sample if isinstance(sample, str) else json.dumps(sample)
    return client.post(try_url(source), form)


def test_trying_a_sample_shows_its_events_with_the_unsaved_mapping(admin_client, source):
    sample = read_fixture("custom_webhook/firing")

    response = try_sample(
        admin_client, source, sample, title="[{{ alert.priority }}] {{ alert.check.name }}"
    )

    assert response.status_code == 200
    answer = response.json()
    assert answer["count"] == 2
    first = answer["events"][0]
    assert first["title"] == "[P1] Checkout API latency"
    assert (first["severity"], first["kind"], first["alert_key"]) == (
        "critical",
        "firing",
        "chk-41",
    )
    assert first["labels"] == {
        "origin": "edge-probe",
        "team": "payments",
        "region": "eu-west",
        "attempts": "3",
    }
    assert first["links"] == [{"href": "https://probe.example.com/checks/chk-41", "text": "Check"}]
    source.refresh_from_db()
    assert source.options["title"] == "{{ alert.check.name }}"  # nothing saved


def test_trying_a_sample_names_the_mapping_field_at_fault(admin_client, source):
    bad_template = try_sample(admin_client, source, {"results": []}, links="[alert.url")
    bad_body = try_sample(admin_client, source, read_fixture("custom_webhook/bad_tags_not_object"))
    not_json = try_sample(admin_client, source, "{nope")

    assert bad_template.status_code == 200  # the try worked; what it found is the answer
    assert bad_template.json()["errors"]["links"][0].startswith("expression syntax error")
    assert bad_body.status_code == 200
    assert bad_body.json()["error"]["field"] == "mapping.labels"
    assert not_json.json()["error"]["field"] == "sample"
    assert not RefusedPush.objects.exists()  # a try is not a push


def test_trying_a_sample_works_for_kinds_without_a_mapping(admin_client, channel):
    standard = AlertSourceFactory(channel=channel, kind="standard")
    form = {"name": standard.name, "kind": "standard", "options": "{}", "severity_overrides": "{}"}
    form["sample"] = json.dumps({"event_status": "Ok", "title": "Disk", "alert_key": "d1"})

    response = admin_client.post(try_url(standard), form)

    assert response.status_code == 200
    assert response.json()["events"][0]["kind"] == "resolved"


def test_trying_a_sample_needs_the_csrf_token(admin_user, source):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    form = page_form(source) | {"sample": "{}"}

    refused = browser.post(try_url(source), form)
    page = browser.get(change_url(source)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    accepted = browser.post(try_url(source), form | {"csrfmiddlewaretoken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 200  # the empty body has no results: answered, not refused
    assert accepted.json()["error"]["field"] == "mapping.alerts"


def test_trying_a_sample_needs_the_change_permission(client, source):
    viewer = staff_user("viewer", "oncall.view_alertsource")
    client.force_login(viewer)

    response = client.post(try_url(source), page_form(source) | {"sample": "{}"})

    assert response.status_code == 403


def test_trying_a_sample_is_a_post(admin_client, source):
    assert admin_client.get(try_url(source)).status_code == 405


# --- the API's test-mapping -----------------------------------------------------------------------


def mapping_url(source) -> str:
    return f"/api/v1/alert-sources/{source.public_id}/test-mapping/"


def test_the_api_tries_a_sample_with_the_saved_or_given_mapping(source, admin_user):
    api = api_as(admin_user)
    sample = read_fixture("custom_webhook/firing")

    saved = api.post(mapping_url(source), {"sample": sample}, format="json")
    given = api.post(
        mapping_url(source),
        {"sample": sample, "options": {**example_options(), "title": "{{ alert.check_id }}"}},
        format="json",
    )

    assert saved.status_code == 200
    assert [event["title"] for event in saved.json()["events"]] == [
        "Checkout API latency",
        "Search index freshness",
    ]
    assert [event["title"] for event in given.json()["events"]] == ["chk-41", "chk-77"]


def test_the_api_names_the_field_at_fault(source, admin_user):
    api = api_as(admin_user)

    bad_options = api.post(
        mapping_url(source), {"sample": {}, "options": {"title": "{{"}}, format="json"
    )
    bad_body = api.post(mapping_url(source), {"sample": {"results": 3}}, format="json")

    assert bad_options.status_code == 400
    assert bad_options.json()["error"]["fields"]["options"][0].startswith("title: template syntax")
    assert bad_body.status_code == 400
    assert "mapping.alerts" in bad_body.json()["error"]["fields"]


def test_the_api_test_mapping_needs_the_change_permission(source):
    viewer = staff_user("viewer", "oncall.view_alertsource")

    response = api_as(viewer).post(mapping_url(source), {"sample": {}}, format="json")

    assert response.status_code == 403


def test_changing_the_kind_starts_from_the_new_kinds_options(admin_client, source):
    form = page_form(source) | {"kind": "alertmanager"}

    response = admin_client.post(change_url(source), form)

    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.kind, source.options) == ("alertmanager", {})


def test_a_mapping_saved_past_the_checks_refuses_pushes_rather_than_failing(push, channel):
    broken = AlertSourceFactory(channel=channel, kind="custom_webhook", options={"title": "{{"})

    response = push(broken, {"title": "x"})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "mapping"
