"""The event subscription request URL (HTTP push): the check-URL handshake, the group events
that keep the group list current, event ids remembered, and every way a push is refused (a 4xx
with a reason, nothing stored)."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest
from django.core.checks import Error
from django.utils import timezone

from integrations.dingtalk import system_checks, tasks
from integrations.dingtalk.models import DingTalkApp, DingTalkGroup, EventReceipt
from tests.dingtalk.conftest import (
    install_event,
    opened_answer,
    rename_event,
    uninstall_event,
)
from tests.dingtalk.factories import DingTalkAppFactory, DingTalkGroupFactory

pytestmark = pytest.mark.django_db

CHECK_URL = {"EventType": "check_url"}


def stored_nothing() -> bool:
    return not EventReceipt.objects.exists() and not DingTalkGroup.objects.exists()


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


# --- The handshake -----------------------------------------------------------------------------


def test_it_answers_the_check_url_with_the_encrypted_success(pusher, app):
    response = pusher.push(CHECK_URL)

    assert response.status_code == 200
    assert set(response.json()) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert opened_answer(app, response) == "success"
    app.refresh_from_db()
    assert app.url_verified_at is not None
    assert app.last_event_at is None


def test_each_answer_is_sealed_anew(pusher, app):
    first = pusher.push(CHECK_URL, nonce="first")
    second = pusher.push(CHECK_URL, nonce="second")
    assert first.json()["encrypt"] != second.json()["encrypt"]
    assert opened_answer(app, second) == "success"


def test_the_older_parameter_names_are_read_too(pusher, app):
    query, body = pusher.signed(CHECK_URL)
    older = {
        "msg_signature": query["signature"],
        "timeStamp": query["timestamp"],
        "nonce": query["nonce"],
    }
    assert pusher.send(older, body).status_code == 200


def test_a_timestamp_in_seconds_is_read_as_seconds(pusher):
    response = pusher.push(CHECK_URL, timestamp=str(int(time.time())))
    assert response.status_code == 200


# --- The group events --------------------------------------------------------------------------


def test_installing_the_cool_app_lists_the_group(pusher, app):
    response = pusher.push(install_event("cidSRE"))

    assert opened_answer(app, response) == "success"
    group = DingTalkGroup.objects.get()
    assert (group.app, group.open_conversation_id, group.status) == (app, "cidSRE", "active")
    assert (group.cool_app_code, group.robot_code, group.operator) == (
        "COOLAPP-1-1018abcdef",
        "rBLBXuiaA2rn3abc",
        "0213454001745",
    )
    assert group.usable
    app.refresh_from_db()
    assert app.last_event_at is not None


def test_a_rename_names_the_group(pusher):
    pusher.push(install_event("cidSRE"))
    pusher.push(rename_event("SRE 值班", "cidSRE"))
    group = DingTalkGroup.objects.get()
    assert group.name == "SRE 值班"
    assert str(group) == "SRE 值班"
    assert group.renamed_at is not None


def test_a_rename_of_a_group_the_app_does_not_list_is_ignored(pusher, app):
    response = pusher.push(rename_event("Elsewhere", "cidUnknown"))
    assert opened_answer(app, response) == "success"
    assert not DingTalkGroup.objects.exists()


def test_uninstalling_marks_the_group_broken_and_installing_again_mends_it(pusher):
    pusher.push(install_event("cidSRE", "ev-1"))
    pusher.push(uninstall_event("cidSRE", "ev-2"))
    group = DingTalkGroup.objects.get()
    assert (group.status, group.usable) == ("uninstalled", False)
    broken_at = group.status_changed_at

    pusher.push(install_event("cidSRE", "ev-3"))
    group.refresh_from_db()
    assert group.status == "active"
    assert group.status_changed_at > broken_at


def test_an_uninstall_from_a_group_never_listed_lists_nothing(pusher):
    assert pusher.push(uninstall_event("cidUnknown")).status_code == 200
    assert not DingTalkGroup.objects.exists()


def test_groups_belong_to_their_app(client):
    from tests.dingtalk.conftest import Pusher

    first, second = DingTalkAppFactory(), DingTalkAppFactory()
    Pusher(client, first).push(install_event("cidShared", "ev-a"))
    Pusher(client, second).push(uninstall_event("cidShared", "ev-b"))
    assert DingTalkGroup.objects.get().status == "active"


def test_an_event_type_nobody_handles_is_answered_success(pusher, app):
    response = pusher.push({"EventType": "user_add_org", "eventId": "ev-9", "UserId": ["u1"]})
    assert opened_answer(app, response) == "success"
    assert EventReceipt.objects.filter(key="event:ev-9").exists()


# --- Event ids remembered ----------------------------------------------------------------------


def test_an_event_pushed_again_is_answered_but_not_acted_on_twice(pusher, app):
    pusher.push(install_event("cidSRE", "ev-install"))
    pusher.push(uninstall_event("cidSRE", "ev-uninstall"))

    # DingTalk pushes the install again: a new request (new nonce), the same eventId.
    again = pusher.push(install_event("cidSRE", "ev-install"), nonce="retry1")

    assert opened_answer(app, again) == "success"
    assert DingTalkGroup.objects.get().status == "uninstalled"


def test_an_event_without_an_id_is_recognised_by_its_content(pusher):
    event = install_event("cidSRE")
    del event["eventId"], event["BizId"]
    pusher.push(event, nonce="one")
    DingTalkGroup.objects.update(status="uninstalled")
    pusher.push(event, nonce="two")
    assert DingTalkGroup.objects.get().status == "uninstalled"


# --- Refused: nothing stored -------------------------------------------------------------------


def test_a_replayed_request_is_refused_and_changes_nothing(pusher, app):
    query, body = pusher.signed(install_event("cidSRE"))
    assert pusher.send(query, body).status_code == 200
    DingTalkGroup.objects.update(status="uninstalled")
    receipts = EventReceipt.objects.count()

    refused(pusher.send(query, body), 409, "replayed")

    assert EventReceipt.objects.count() == receipts
    assert DingTalkGroup.objects.get().status == "uninstalled"


def test_a_replayed_check_url_is_refused(pusher):
    query, body = pusher.signed(CHECK_URL)
    pusher.send(query, body)
    refused(pusher.send(query, body), 409, "replayed")


def test_a_wrong_signature_is_refused(pusher):
    query, body = pusher.signed(install_event())
    query["signature"] = query["signature"][:-4] + "0000"
    refused(pusher.send(query, body), 401, "bad_signature")
    assert stored_nothing()


def test_a_push_signed_with_another_token_is_refused(pusher):
    refused(pusher.push(install_event(), token="not-the-apps-token"), 401, "bad_signature")
    assert stored_nothing()


def test_a_changed_text_under_the_old_signature_is_refused(pusher):
    query, _ = pusher.signed(install_event("cidSRE"))
    _, other = pusher.signed(install_event("cidOther"))
    refused(pusher.send(query, other), 401, "bad_signature")
    assert stored_nothing()


@pytest.mark.parametrize("age_seconds", [3601, -3601, 86400 * 30])
def test_a_push_outside_the_window_is_refused(pusher, age_seconds):
    timestamp = str(int((time.time() - age_seconds) * 1000))
    refused(pusher.push(install_event(), timestamp=timestamp), 401, "stale_timestamp")
    assert stored_nothing()


def test_the_window_is_a_setting(pusher, settings):
    settings.DINGTALK_EVENT_MAX_SKEW_SECONDS = 60
    timestamp = str(int((time.time() - 120) * 1000))
    refused(pusher.push(install_event(), timestamp=timestamp), 401, "stale_timestamp")


def test_a_push_sealed_with_another_aes_key_is_refused(pusher):
    other = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus"
    refused(pusher.push(install_event(), aes_key=other), 401, "undecryptable")
    assert stored_nothing()


def test_a_push_sealed_for_another_app_is_refused(pusher):
    refused(pusher.push(install_event(), owner="dinganotherapp0001"), 401, "undecryptable")
    assert stored_nothing()


@pytest.mark.parametrize("missing", ["signature", "timestamp", "nonce"])
def test_an_unsigned_push_is_refused(pusher, missing):
    query, body = pusher.signed(install_event())
    del query[missing]
    refused(pusher.send(query, body), 400, "unsigned")
    assert stored_nothing()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"encrypt": 5}', b"{}", b'{"encrypt": ""}'])
def test_a_body_without_an_encrypted_text_is_refused(pusher, body):
    query, _ = pusher.signed(install_event())
    refused(pusher.send(query, body), 400, "malformed")
    assert stored_nothing()


@pytest.mark.parametrize("message", ["not json", "[1, 2]", '{"no": "type"}', '{"EventType": 3}'])
def test_a_decrypted_message_that_is_not_an_event_is_refused(pusher, message):
    refused(pusher.push(message), 400, "malformed")
    assert stored_nothing()


def test_an_install_without_a_group_is_refused_and_its_receipts_rolled_back(pusher):
    event = install_event()
    del event["openConversationId"]
    response = pusher.push(event)
    refused(response, 400, "malformed")
    assert "openConversationId" in response.json()["error"]["message"]
    assert stored_nothing()


def test_a_body_too_large_is_refused(pusher, settings):
    settings.DINGTALK_EVENT_MAX_BODY_BYTES = 1024
    query, _ = pusher.signed(install_event())
    refused(pusher.send(query, {"encrypt": "A" * 2000}), 413, "too_large")


def test_only_post_is_accepted(client, app):
    response = client.get(app.event_url.removeprefix("https://oncall.example.com"))
    assert response.status_code == 405


def test_a_disabled_app_has_no_request_url(pusher, app):
    DingTalkApp.objects.filter(pk=app.pk).update(enabled=False)
    refused(pusher.push(CHECK_URL), 404, "unknown_app")


def test_no_secret_reaches_the_log(pusher, app, caplog):
    caplog.set_level(logging.DEBUG)
    pusher.push(install_event())
    pusher.push(install_event(), token="wrong")
    pusher.push(install_event(), aes_key="o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus")
    text = caplog.text
    assert "refused" in text
    for secret in (app.aes_key, app.signature_token, app.client_secret):
        assert secret not in text


# --- Receipts: kept long enough, then swept ----------------------------------------------------


def test_the_sweep_forgets_only_receipts_older_than_the_retention(app, settings):
    settings.DINGTALK_EVENT_RECEIPT_RETENTION_DAYS = 7
    old = EventReceipt.objects.create(app=app, key="event:old", kind="x")
    recent = EventReceipt.objects.create(app=app, key="event:recent", kind="x")
    EventReceipt.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=8))

    assert tasks.purge_event_receipts() == 1
    assert list(EventReceipt.objects.values_list("pk", flat=True)) == [recent.pk]


def test_receipts_kept_for_less_than_the_window_are_an_error(settings):
    settings.DINGTALK_EVENT_RECEIPT_RETENTION_DAYS = 1
    settings.DINGTALK_EVENT_MAX_SKEW_SECONDS = 2 * 86400
    (error,) = system_checks.receipts_outlive_the_replay_window(None)
    assert isinstance(error, Error)
    assert error.id == "oncall.E113"
    settings.DINGTALK_EVENT_MAX_SKEW_SECONDS = 3600
    assert system_checks.receipts_outlive_the_replay_window(None) == []


def test_the_receipts_sweep_is_scheduled():
    from integrations.dingtalk.platform import DingTalkPlatform

    entry = DingTalkPlatform().periodic_tasks()["purge-dingtalk-event-receipts"]
    assert entry["task"] == "integrations.dingtalk.tasks.purge_event_receipts"


def test_a_group_not_yet_named_is_listed_under_its_id():
    assert str(DingTalkGroupFactory(name="", open_conversation_id="cidNoName")) == "cidNoName"


def test_the_answer_is_json_dingtalk_can_read(pusher):
    body = json.loads(pusher.push(CHECK_URL).content)
    assert all(isinstance(value, str) for value in body.values())
