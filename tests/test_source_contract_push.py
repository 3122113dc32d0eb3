"""The push endpoint's side of source contract v2, through a kind made for the test: headers,
query, options and the signing secret reach the source; a control message is answered without
storing; GET is the source's to answer; form bodies; a refusal of the source's own; the query
token; the wrong-kind hint; and the admin and API surfaces of options and the secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from oncall.events import AlertEvent, EventKind, PayloadError, Severity
from oncall.models import AlertSource, InboundEvent, Incident
from oncall.sources import Answer, PushRequest, SetupGuide, SourceKind, SourceRefused
from tests import payloads
from tests.factories import AlertSourceFactory, staff_user

pytestmark = pytest.mark.django_db

KIND = "contract_test"


class ContractKind(SourceKind):
    """Signed JSON (or form fields); ``{"type": "ping"}`` is a control message; GET answers."""

    kind = KIND
    label = "Contract test"
    sender = "the contract test"
    identity = "`id`"
    recovery = "`state` `ok`"
    severity_table = (("sev1", Severity.CRITICAL),)
    form_body = True

    def parse(self, payload: Any) -> list[AlertEvent]:
        raise AssertionError("parse_push is the entry point")

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        if push.secret:
            expected = hmac.new(push.secret.encode(), push.raw_body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, push.headers.get("x-signature", "")):
                raise SourceRefused(401, "bad_signature", "The signature does not match.")
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
            raise PayloadError("id is required", field="id")
        prefix = push.options.get("prefix", "")
        return [
            AlertEvent(
                alert_key=payload["id"],
                kind=EventKind.RESOLVED if payload.get("state") == "ok" else EventKind.FIRING,
                title=f"{prefix}{payload.get('title', 'x')} via {push.query.get('via', '-')}",
                severity=Severity.WARNING,
            )
        ]

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        if isinstance(payload, dict) and payload.get("type") == "ping":
            return Answer(200, {"pong": True})
        return None

    def answer_get(self, push: PushRequest) -> Answer | None:
        return Answer(200, {"hello": push.query.get("name", "")})

    def recognises(self, payload: Any) -> bool:
        return isinstance(payload, dict) and "id" in payload and "state" in payload

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide([f"Point it at {push_url}"])

    def clean_options(self, options: Any) -> dict[str, Any]:
        options = options or {}
        if set(options) - {"prefix"}:
            raise ValidationError("Only prefix is an option.")
        return {"prefix": str(options.get("prefix", ""))}

    def options_help(self) -> str:
        return "prefix: put before every title"


@pytest.fixture(autouse=True)
def contract_kind(settings):
    settings.ALERT_SOURCES = {**settings.ALERT_SOURCES, KIND: f"{__name__}.ContractKind"}


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel, kind=KIND, options={"prefix": "[t] "})


def post(client, source, body: bytes, *, query: str = "", **extra: Any):
    return client.post(f"/push/{source.token}{query}", data=body, **extra)


def test_the_source_reads_headers_query_options_and_the_raw_body(client, source):
    source.signing_secret = "s3cret"
    source.save()
    body = json.dumps({"id": "a1", "title": "Disk"}).encode()
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    response = post(
        client,
        source,
        body,
        query="?via=cron",
        content_type="application/json",
        HTTP_X_SIGNATURE=signature,
    )

    assert response.status_code == 200, response.json()
    [event] = InboundEvent.objects.get().events
    assert event["event"]["title"] == "[t] Disk via cron"


def test_a_refusal_of_the_sources_own_is_answered_and_nothing_is_stored(client, source):
    source.signing_secret = "s3cret"
    source.save()

    response = post(
        client, source, b'{"id": "a1"}', content_type="application/json", HTTP_X_SIGNATURE="0"
    )

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "bad_signature",
        "message": "The signature does not match.",
    }
    assert not InboundEvent.objects.exists()


def test_a_control_message_is_answered_without_storing(client, source):
    response = post(client, source, b'{"type": "ping"}', content_type="application/json")

    assert response.status_code == 200
    assert response.json() == {"pong": True}
    assert not InboundEvent.objects.exists()


def test_get_is_the_sources_to_answer(client, source):
    response = client.get(f"/push/{source.token}?name=cron")

    assert response.status_code == 200
    assert response.json() == {"hello": "cron"}


def test_get_on_a_source_that_takes_none_is_405(client, channel):
    other = AlertSourceFactory(channel=channel)

    response = client.get(f"/push/{other.token}")

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_get_with_an_unknown_token_is_401(client):
    assert client.get("/push/nope").status_code == 401


def test_form_fields_arrive_as_a_dict_for_a_kind_that_takes_them(client, source):
    response = post(
        client,
        source,
        b"id=f1&title=Form+post&state=firing",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200, response.json()
    assert InboundEvent.objects.get().events[0]["event"]["alert_key"] == "f1"


def test_form_fields_with_unstorable_text_are_cleaned_and_noted(client, source):
    response = post(
        client, source, b"id=f2&title=a%00b", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    inbound = InboundEvent.objects.get()
    assert inbound.events[0]["event"]["title"] == "[t] a\ufffdb via -"
    assert any("title" in note for note in inbound.notes)


def test_a_kind_that_takes_no_form_refuses_one_as_invalid_json(client, channel):
    other = AlertSourceFactory(channel=channel)

    response = post(client, other, b"a=1", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_the_token_may_come_in_the_query_string(client, source, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/push/?integration_key={source.token}",
            data=b'{"id": "q1", "title": "Q"}',
            content_type="application/json",
        )

    assert response.status_code == 200, response.json()
    assert Incident.objects.get().title == "[t] Q via -"


def test_the_query_door_without_a_token_is_401(client):
    response = client.post("/push/", data=b"{}", content_type="application/json")

    assert response.status_code == 401
    assert "integration_key" in response.json()["error"]["message"]


def test_a_payload_of_another_kind_is_refused_with_a_hint(push, channel):
    alertmanager_source = AlertSourceFactory(channel=channel, kind="standard")

    response = push(alertmanager_source, payloads.alertmanager(payloads.am_alert()))

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.endswith(
        "This looks like a Prometheus Alertmanager payload; this source expects "
        "Standard alert event."
    )
    assert not InboundEvent.objects.exists()


def test_options_are_checked_by_the_kind_on_save(channel):
    source = AlertSource(name="x", kind=KIND, channel=channel, options={"nope": 1})

    with pytest.raises(ValidationError) as excinfo:
        source.full_clean()

    assert excinfo.value.message_dict == {"options": ["Only prefix is an option."]}


class TestApi:
    @pytest.fixture
    def admin_api(self):
        from tests.factories import api_as

        return api_as(
            staff_user(
                "ada",
                "oncall.add_alertsource",
                "oncall.change_alertsource",
                "oncall.view_alertsource",
            )
        )

    def test_the_secret_is_write_only_and_options_are_checked(self, admin_api, channel):
        response = admin_api.post(
            "/api/v1/alert-sources/",
            {
                "name": "Signed",
                "kind": KIND,
                "channel": str(channel.public_id),
                "options": {"prefix": "!"},
                "signing_secret": "top-secret",
            },
            format="json",
        )

        assert response.status_code == 201, response.json()
        body = response.json()
        assert "signing_secret" not in body
        assert body["has_signing_secret"] is True
        assert body["options"] == {"prefix": "!"}
        assert body["setup"]["steps"] == [f"Point it at {body['push_url']}"]
        assert "top-secret" not in json.dumps(body)
        assert AlertSource.objects.get(name="Signed").signing_secret == "top-secret"

    def test_bad_options_are_a_400_naming_options(self, admin_api, source):
        response = admin_api.patch(
            f"/api/v1/alert-sources/{source.public_id}/", {"options": {"x": 1}}, format="json"
        )

        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == {"options"}

    def test_omitting_the_secret_keeps_it_and_blank_removes_it(self, admin_api, source):
        source.signing_secret = "keep-me"
        source.save()
        url = f"/api/v1/alert-sources/{source.public_id}/"

        assert admin_api.patch(url, {"name": "Renamed"}, format="json").status_code == 200
        source.refresh_from_db()
        assert source.signing_secret == "keep-me"

        assert admin_api.patch(url, {"signing_secret": ""}, format="json").status_code == 200
        source.refresh_from_db()
        assert source.signing_secret == ""


class TestAdmin:
    def test_the_page_shows_the_setup_and_never_the_secret(self, admin_client, source):
        source.signing_secret = "never-shown"
        source.save()

        page = admin_client.get(f"/admin/oncall/alertsource/{source.pk}/change/")

        text = page.content.decode()
        assert page.status_code == 200
        assert f"Point it at {source.push_url}" in text
        assert "never-shown" not in text
        assert "prefix: put before every title" in text
        assert "<code>sev1</code> → Critical" in text  # the sender's word as code

    def test_a_new_secret_is_saved_and_blank_keeps_the_old(self, admin_client, source):
        url = f"/admin/oncall/alertsource/{source.pk}/change/"
        form = {
            "name": source.name,
            "kind": KIND,
            "description": "",
            "enabled": "on",
            "channel": source.channel_id,
            "severity_overrides": "{}",
            "options": '{"prefix": ""}',
            "routes-TOTAL_FORMS": "0",
            "pipeline_rules-TOTAL_FORMS": "0",
            "pipeline_rules-INITIAL_FORMS": "0",
            "routes-INITIAL_FORMS": "0",
        }

        response = admin_client.post(url, {**form, "new_signing_secret": "first"})
        assert response.status_code == 302, response.content.decode()[:2000]
        source.refresh_from_db()
        assert source.signing_secret == "first"

        admin_client.post(url, form)
        source.refresh_from_db()
        assert source.signing_secret == "first"

        admin_client.post(url, {**form, "clear_signing_secret": "on"})
        source.refresh_from_db()
        assert source.signing_secret == ""

    def test_bad_options_are_refused_on_the_form(self, admin_client, source):
        response = admin_client.post(
            f"/admin/oncall/alertsource/{source.pk}/change/",
            {
                "name": source.name,
                "kind": KIND,
                "enabled": "on",
                "channel": source.channel_id,
                "severity_overrides": "{}",
                "options": '{"other": 1}',
            },
        )

        assert response.status_code == 200
        assert "Only prefix is an option." in response.content.decode()
