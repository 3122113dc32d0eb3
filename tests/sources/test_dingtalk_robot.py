"""The DingTalk custom robot's format: every message type through the parser, and pushes
through both URLs (the push URL and the robot's ``robot/send?access_token=``), signed in the
query string and unsigned, answered as the robot answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote_plus

import pytest

from integrations.sources.dingtalk_robot import parser as dingtalk
from integrations.sources.dingtalk_robot.source import DingTalkRobotSource, check_signature
from oncall.events import EventKind, Image, Link, PayloadError, Severity
from oncall.models import Alert, InboundEvent, Incident
from oncall.sources import SourceRefused
from tests.factories import AlertSourceFactory

SECRET = "SEC5f1c0e3a9b7d24c6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3"


def sign(timestamp_ms: int, secret: str = SECRET) -> str:
    """DingTalk's signature, written out here from its documentation (not URL-encoded)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_query(timestamp_ms: int | None = None, secret: str = SECRET) -> str:
    timestamp_ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    return f"&timestamp={timestamp_ms}&sign={quote_plus(sign(timestamp_ms, secret))}"


# --- the parser: every message type --------------------------------------------------------------


def test_it_reads_a_text_message_title_from_its_first_line(load_fixture):
    [event] = dingtalk.parse(load_fixture("dingtalk_robot/text_firing"))

    assert event.kind == EventKind.FIRING
    assert event.title == "告警: Redis 内存使用率 93% (redis-cache-2)"
    assert event.severity == Severity.WARNING  # the knowledge base's default
    assert "开始时间: 2026-12-03 09:14:05" in event.description
    assert event.labels == {"msg_type": "text"}  # the mentioned phone numbers are left out


def test_a_text_recovery_in_chinese_is_the_same_alert(load_fixture):
    [firing] = dingtalk.parse(load_fixture("dingtalk_robot/text_firing"))
    [recovered] = dingtalk.parse(load_fixture("dingtalk_robot/text_recovered"))

    assert recovered.kind == EventKind.RESOLVED
    assert recovered.alert_key == firing.alert_key


def test_it_reads_a_markdown_message(load_fixture):
    [event] = dingtalk.parse(load_fixture("dingtalk_robot/markdown_firing"))

    assert event.title == "[FIRING:2] KubePodCrashLooping prod"
    assert "checkout-7d9f" in event.description
    assert event.links == (
        Link("https://alertmanager.example.com/#/alerts?receiver=dingtalk", "Alertmanager"),
    )


def test_a_markdown_recovery_is_the_same_alert(load_fixture):
    [firing] = dingtalk.parse(load_fixture("dingtalk_robot/markdown_firing"))
    [recovered] = dingtalk.parse(load_fixture("dingtalk_robot/markdown_recovered"))

    assert recovered.kind == EventKind.RESOLVED
    assert recovered.alert_key == firing.alert_key


def test_it_reads_a_link_message_with_its_picture(load_fixture):
    [event] = dingtalk.parse(load_fixture("dingtalk_robot/link"))

    assert event.title == "Critical: build pipeline main failed 3 times"
    assert event.severity == Severity.CRITICAL
    assert event.description == "Stage deploy-staging failed on runner ci-12"
    url = "https://ci.example.com/pipelines/main/48213"
    assert event.links == (Link(url, event.title),)
    assert event.images == (Image("https://ci.example.com/badge/main.png", event.title, url),)


def test_an_action_card_buttons_link_through_dingtalks_wrapper(load_fixture):
    [event] = dingtalk.parse(load_fixture("dingtalk_robot/action_card_single"))

    assert event.title == "磁盘空间告警 data-node-4"
    assert event.links == (Link("https://monitor.example.com/hosts/data-node-4", "查看详情"),)
    assert event.images == (Image("https://monitor.example.com/chart/disk-4.png", "chart"),)


def test_an_action_card_with_several_buttons(load_fixture):
    [event] = dingtalk.parse(load_fixture("dingtalk_robot/action_card_buttons"))

    assert event.severity == Severity.WARNING
    assert event.raw_severity == "warning"
    assert [link.text for link in event.links] == ["Renewal runbook", "Certificate inventory"]


def test_a_feed_card_is_one_alert_titled_by_its_first_link(load_fixture):
    [event] = dingtalk.parse(load_fixture("dingtalk_robot/feed_card"))

    assert event.title == "Nightly report job late: sales-daily"
    assert event.description.splitlines() == [
        "Nightly report job late: sales-daily",
        "Nightly report job late: stock-daily",
    ]
    assert len(event.links) == 2


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_missing_msgtype", "msgtype"),
        ("bad_unknown_msgtype", "msgtype"),
        ("bad_missing_content", "markdown"),
        ("bad_blank_text", "text.content"),
    ],
)
def test_it_refuses_what_it_cannot_read_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        dingtalk.parse(load_fixture(f"dingtalk_robot/{case}"))

    assert refused.value.field == field


def test_a_link_elsewhere_than_the_web_is_dropped():
    assert dingtalk.web_url("dingtalk://dingtalkclient/action/sendmsg") == ""
    assert dingtalk.web_url("javascript:alert(1)") == ""
    assert dingtalk.web_url(" https://example.com/a ") == "https://example.com/a"


# --- signatures -----------------------------------------------------------------------------------


def test_a_signature_made_as_dingtalk_documents_it_passes():
    now = time.time()
    timestamp = int(now * 1000)

    check_signature({"timestamp": str(timestamp), "sign": sign(timestamp)}, SECRET, now=now)


def test_a_sign_sent_without_url_encoding_still_passes():
    # "+" in an unencoded query string reads as a blank.
    now = time.time()
    timestamp = next(t for t in range(int(now * 1000), int(now * 1000) + 500) if "+" in sign(t))

    check_signature(
        {"timestamp": str(timestamp), "sign": sign(timestamp).replace("+", " ")}, SECRET, now=now
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "signature_missing"),
        ({"timestamp": str(int(time.time() * 1000))}, "signature_missing"),
        ({"timestamp": "1", "sign": "x"}, "timestamp_out_of_window"),
        ({"timestamp": str(int(time.time() * 1000)), "sign": "bm90IGl0"}, "signature_mismatch"),
    ],
)
def test_a_wrong_missing_or_stale_signature_is_refused(query, code):
    with pytest.raises(SourceRefused) as refused:
        check_signature(query, SECRET, now=time.time())

    assert (refused.value.status, refused.value.code) == (401, code)


# --- pushes ---------------------------------------------------------------------------------------


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel, kind="dingtalk_robot")


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """POST a message to the robot's URL shape (query appended) or to ``url``."""

    def _send(source, payload: Any, *, query: str = "", url: str | None = None, raw=None):
        url = url or f"/push/dingtalk_robot/robot/send?access_token={source.token}{query}"
        body = raw if raw is not None else json.dumps(payload)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=body, content_type="application/json")

    return _send


def robot_shape(body: dict) -> dict:
    return {"errcode": body["errcode"], "errmsg": body["errmsg"]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    [
        "text_firing",
        "markdown_firing",
        "link",
        "action_card_single",
        "action_card_buttons",
        "feed_card",
    ],
)
def test_every_message_type_opens_an_incident_and_gets_the_robots_answer(
    send, source, load_fixture, case
):
    response = send(source, load_fixture(f"dingtalk_robot/{case}"))

    assert response.status_code == 200
    assert robot_shape(response.json()) == {"errcode": 0, "errmsg": "ok"}
    incident = Incident.objects.get()
    assert incident.channel == source.channel
    assert incident.status == Incident.Status.TRIGGERED


@pytest.mark.django_db
def test_the_push_url_takes_the_same_message_and_signature(send, source, load_fixture):
    source.signing_secret = SECRET
    source.save()

    response = send(
        source,
        load_fixture("dingtalk_robot/link"),
        url=f"/push/{source.token}?{signed_query()[1:]}",
    )

    assert response.status_code == 200
    assert robot_shape(response.json()) == {"errcode": 0, "errmsg": "ok"}
    assert Incident.objects.get().severity == Severity.CRITICAL


@pytest.mark.django_db
def test_a_recovery_message_closes_the_incident(send, source, load_fixture):
    send(source, load_fixture("dingtalk_robot/markdown_firing"))
    send(source, load_fixture("dingtalk_robot/markdown_recovered"))

    assert Alert.objects.get().status == Alert.Status.RESOLVED
    assert Incident.objects.get().status == Incident.Status.CLOSED


@pytest.mark.django_db
def test_a_signed_message_is_taken_when_the_source_has_the_secret(send, source, load_fixture):
    source.signing_secret = SECRET
    source.save()

    response = send(source, load_fixture("dingtalk_robot/text_firing"), query=signed_query())

    assert response.status_code == 200
    assert response.json()["errcode"] == 0
    assert Incident.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "errmsg"),
    [
        (lambda: signed_query(secret="SECnot-the-secret"), "sign not match"),
        (lambda: signed_query(int((time.time() - 2 * 3600) * 1000)), "invalid timestamp"),
        (lambda: "", "sign not match"),
    ],
    ids=["wrong", "two hours old", "unsigned"],
)
def test_a_bad_signature_is_refused_in_the_robots_words(send, source, load_fixture, query, errmsg):
    source.signing_secret = SECRET
    source.save()

    response = send(source, load_fixture("dingtalk_robot/text_firing"), query=query())

    assert response.status_code == 401
    assert response.json() == {"errcode": 310000, "errmsg": errmsg}
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_an_unusable_message_is_refused_with_the_reason(send, source, load_fixture):
    response = send(source, load_fixture("dingtalk_robot/bad_unknown_msgtype"))

    assert response.status_code == 400
    assert response.json()["errcode"] == 40035
    assert response.json()["errmsg"].startswith("msgtype must be one of text, markdown")
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_bad_json_on_the_robots_url_is_answered_in_its_shape(send, source):
    response = send(source, None, raw=b"msgtype=text")

    assert response.status_code == 400
    assert response.json()["errcode"] == 40035


@pytest.mark.django_db
def test_an_unknown_or_missing_token_on_the_robots_url_is_the_robots_token_error(client):
    for url in (
        "/push/dingtalk_robot/robot/send?access_token=nope",
        "/push/dingtalk_robot/robot/send",
    ):
        response = client.post(url, data="{}", content_type="application/json")

        assert response.status_code == 401
        assert response.json()["errcode"] == 300001


def test_the_setup_guide_gives_the_robots_url_shape():
    guide = DingTalkRobotSource().setup_guide("https://oncall.example.com/push/T0KEN")

    assert (
        "https://oncall.example.com/push/dingtalk_robot/robot/send?access_token=T0KEN"
        in guide.steps[0]
    )


@pytest.mark.django_db
def test_the_source_page_gives_the_robots_address_and_the_options(admin_client, source):
    page = admin_client.get(f"/admin/oncall/alertsource/{source.pk}/change/").content.decode()

    assert f"/push/dingtalk_robot/robot/send?access_token={source.token}" in page
    assert "recovery_keywords" in page
