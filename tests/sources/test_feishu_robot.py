"""The Feishu / Lark custom robot's format: every message type through the parser, and pushes
through both URLs (the push URL and the robot's own shape), signed and unsigned, answered as
the robot answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from integrations.sources.feishu_robot import parser as feishu
from integrations.sources.feishu_robot.source import FeishuRobotSource, check_signature
from integrations.sources.message_rules import MessageRules
from oncall.events import EventKind, Image, Link, PayloadError, Severity
from oncall.models import Alert, InboundEvent, Incident
from oncall.sources import SourceRefused
from tests.factories import AlertSourceFactory

SECRET = "hYw2pLxQeT7mN4zR"


def sign(timestamp: int, secret: str = SECRET) -> str:
    """Feishu's signature, written out here from its documentation."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def signed(payload: dict[str, Any], timestamp: int | None = None, secret: str = SECRET) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {"timestamp": str(timestamp), "sign": sign(timestamp, secret), **payload}


# --- the parser: every message type --------------------------------------------------------------


def test_it_reads_a_text_message_title_from_its_first_line(load_fixture):
    [event] = feishu.parse(load_fixture("feishu_robot/text_firing"))

    assert event.kind == EventKind.FIRING
    assert event.title == "[FIRING:1] MySQL replication lag 42s on db-7"
    assert event.severity == Severity.WARNING  # the knowledge base's default
    assert "@所有人 lag has been above 30s" in event.description  # mentions keep their name
    assert event.links == (
        Link(
            "https://grafana.example.com/d/mysql?var-instance=db-7",
            "https://grafana.example.com/d/mysql?var-instance=db-7",
        ),
    )
    assert event.labels == {"msg_type": "text"}


def test_a_text_recovery_is_the_same_alert(load_fixture):
    [firing] = feishu.parse(load_fixture("feishu_robot/text_firing"))
    [recovered] = feishu.parse(load_fixture("feishu_robot/text_recovered"))

    assert recovered.kind == EventKind.RESOLVED
    assert recovered.alert_key == firing.alert_key


def test_it_reads_a_post_in_chinese_first(load_fixture):
    [event] = feishu.parse(load_fixture("feishu_robot/post_firing"))

    assert event.title == "【严重】订单服务 5xx 比例 12.5%"
    assert event.severity == Severity.CRITICAL
    assert event.raw_severity == "严重"
    assert event.description == "服务: order-api\n持续时间: 10 分钟 查看面板\n@王小明"
    assert event.links == (Link("https://grafana.example.com/d/orders", "查看面板"),)


def test_a_post_recovery_in_chinese_is_the_same_alert(load_fixture):
    [firing] = feishu.parse(load_fixture("feishu_robot/post_firing"))
    [recovered] = feishu.parse(load_fixture("feishu_robot/post_recovered"))

    assert recovered.kind == EventKind.RESOLVED
    assert recovered.alert_key == firing.alert_key


def test_a_post_without_a_title_takes_its_first_line(load_fixture):
    [event] = feishu.parse(load_fixture("feishu_robot/post_english_only"))

    assert event.title == "Nightly export failed for tenant 3181"
    assert "exit status 2" in event.description


def test_it_reads_a_card_header_text_buttons_and_colour(load_fixture):
    [event] = feishu.parse(load_fixture("feishu_robot/interactive_firing"))

    assert event.title == "Critical: disk /data 96% on web-3"
    assert event.severity == Severity.CRITICAL
    assert event.labels == {"msg_type": "interactive", "card_color": "red"}
    assert "**Used**: 96%" in event.description
    assert "Sent by node-monitor" in event.description
    assert event.links == (
        Link("https://grafana.example.com/d/node?var-host=web-3", "Open dashboard"),
        Link("https://wiki.example.com/runbooks/disk-full", "Runbook"),
    )


def test_a_card_recovery_is_the_same_alert(load_fixture):
    [firing] = feishu.parse(load_fixture("feishu_robot/interactive_firing"))
    [recovered] = feishu.parse(load_fixture("feishu_robot/interactive_recovered"))

    assert recovered.kind == EventKind.RESOLVED
    assert recovered.alert_key == firing.alert_key


def test_it_reads_a_version_2_card_with_columns_and_behaviours(load_fixture):
    [event] = feishu.parse(load_fixture("feishu_robot/interactive_v2"))

    assert event.title == "Warning: queue backlog 1520 messages"
    assert event.severity == Severity.WARNING
    assert event.raw_severity == "warning"
    assert event.description.splitlines()[1:3] == ["Consumers: 2", "Rate: 3/s"]
    assert event.links == (Link("https://mq.example.com/queues/invoices", "Queue page"),)


def test_it_reads_a_card_sent_as_a_json_string(load_fixture):
    [event] = feishu.parse(load_fixture("feishu_robot/interactive_card_as_string"))

    assert event.title == "Backup job failed on nas-2"
    assert event.description == "exit code 23 after 41 minutes"


def test_it_reads_a_template_cards_variables(load_fixture):
    [event] = feishu.parse(load_fixture("feishu_robot/interactive_template"))

    assert event.title == "Payment gateway latency p99 2300ms"
    assert event.description == "service: payment-gw\nregion: cn-shanghai"
    assert event.labels["card_template"] == "AAqk1xyzTemplate"


def test_markdown_images_in_a_card_are_the_alerts_images():
    card = {
        "header": {"title": {"tag": "plain_text", "content": "CPU high"}},
        "elements": [{"tag": "markdown", "content": "![cpu](https://charts.example.com/c.png)"}],
    }

    [event] = feishu.parse({"msg_type": "interactive", "card": card})

    assert event.images == (Image("https://charts.example.com/c.png", "cpu"),)
    assert event.links == ()


def test_a_button_beside_a_div_is_a_link():
    div = {
        "tag": "div",
        "text": {"tag": "lark_md", "content": "db-7 lag 42s"},
        "extra": {
            "tag": "button",
            "text": {"tag": "lark_md", "content": "Silence"},
            "multi_url": {"url": "https://am.example.com/#/silences/new", "pc_url": ""},
        },
    }

    [event] = feishu.parse({"msg_type": "interactive", "card": {"elements": [div]}})

    assert event.title == "db-7 lag 42s"
    assert event.links == (Link("https://am.example.com/#/silences/new", "Silence"),)


def test_an_empty_text_gets_the_knowledge_bases_default_title():
    [event] = feishu.parse({"msg_type": "post", "content": {"post": {"zh_cn": {"content": []}}}})

    assert event.title == "Feishu alert"


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_missing_msg_type", "msg_type"),
        ("bad_image", "msg_type"),
        ("bad_unknown_msg_type", "msg_type"),
        ("bad_text_not_string", "content.text"),
        ("bad_post_without_language", "content.post"),
        ("bad_interactive_without_card", "card"),
    ],
)
def test_it_refuses_what_it_cannot_read_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        feishu.parse(load_fixture(f"feishu_robot/{case}"))

    assert refused.value.field == field


def test_a_card_string_that_is_not_json_is_refused():
    with pytest.raises(PayloadError) as refused:
        feishu.parse({"msg_type": "interactive", "card": "{not json"})

    assert refused.value.field == "card"


def test_options_change_the_words_and_the_identity(load_fixture):
    rules = MessageRules.from_options(
        {
            "recovery_keywords": ["back under"],
            "severity_keywords": {"info": ["lag"]},
            "alert_key_pattern": r"on (\S+)$",
        }
    )

    [firing] = feishu.parse(load_fixture("feishu_robot/text_firing"), rules)
    [other] = feishu.parse({"msg_type": "text", "content": {"text": "disk full on db-7"}}, rules)

    assert firing.severity == Severity.INFO
    assert firing.kind == EventKind.FIRING  # "resolved" is not a recovery word any more
    assert firing.alert_key == other.alert_key  # both are about db-7


# --- signatures -----------------------------------------------------------------------------------


def test_a_signature_made_as_feishu_documents_it_passes():
    now = time.time()
    check_signature(signed({}, int(now)), SECRET, now=now)


# Bodies built when the test runs (not when it is collected: a suite can take minutes, and a
# timestamp an hour away at collection would be less than that at run time).
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (lambda now: {}, "signature_missing"),
        (lambda now: {"timestamp": "1764771600"}, "signature_missing"),
        (lambda now: signed({}, secret="another"), "signature_mismatch"),
        (lambda now: signed({}, int(now) - 3700), "timestamp_out_of_window"),
        (lambda now: signed({}, int(now) + 3700), "timestamp_out_of_window"),
        (lambda now: {"timestamp": "²", "sign": "x"}, "signature_missing"),
    ],
)
def test_a_wrong_missing_or_stale_signature_is_refused(body, code):
    now = time.time()
    with pytest.raises(SourceRefused) as refused:
        check_signature(body(now), SECRET, now=now)

    assert (refused.value.status, refused.value.code) == (401, code)


# --- pushes ---------------------------------------------------------------------------------------


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel, kind="feishu_robot")


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST a message to the robot's own URL shape (or ``url``), processing what it enqueued."""

    def _post(source, payload: Any, *, url: str | None = None, raw: bytes | None = None):
        url = url or f"/push/feishu_robot/open-apis/bot/v2/hook/{source.token}"
        body = raw if raw is not None else json.dumps(payload)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=body, content_type="application/json")

    return _post


SUCCESS = {"code": 0, "msg": "success", "data": {}, "StatusCode": 0, "StatusMessage": "success"}


def robot_shape(body: dict) -> dict:
    return {key: body[key] for key in SUCCESS}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    [
        "text_firing",
        "post_firing",
        "interactive_firing",
        "interactive_v2",
        "interactive_template",
        "interactive_card_as_string",
    ],
)
def test_every_message_type_opens_an_incident_and_gets_the_robots_answer(
    post, source, load_fixture, case
):
    response = post(source, load_fixture(f"feishu_robot/{case}"))

    assert response.status_code == 200
    assert robot_shape(response.json()) == SUCCESS
    incident = Incident.objects.get()
    assert incident.channel == source.channel
    assert incident.status == Incident.Status.TRIGGERED


@pytest.mark.django_db
def test_the_push_url_takes_the_same_message(post, source, load_fixture):
    response = post(source, load_fixture("feishu_robot/post_firing"), url=f"/push/{source.token}")

    assert response.status_code == 200
    assert robot_shape(response.json()) == SUCCESS
    assert Incident.objects.get().severity == Severity.CRITICAL


@pytest.mark.django_db
def test_a_recovery_message_closes_the_incident(post, source, load_fixture):
    post(source, load_fixture("feishu_robot/text_firing"))
    post(source, load_fixture("feishu_robot/text_firing"))  # the same problem, merged
    response = post(source, load_fixture("feishu_robot/text_recovered"))

    assert response.status_code == 200
    alert = Alert.objects.get()
    assert alert.event_count == 3
    assert alert.status == Alert.Status.RESOLVED
    assert Incident.objects.get().status == Incident.Status.CLOSED


@pytest.mark.django_db
def test_a_signed_message_is_taken_when_the_source_has_the_secret(post, source, load_fixture):
    source.signing_secret = SECRET
    source.save()

    response = post(source, signed(load_fixture("feishu_robot/text_firing")))

    assert response.status_code == 200
    assert robot_shape(response.json()) == SUCCESS
    assert Incident.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda message: signed(message, secret="not-the-secret"),
        lambda message: signed(message, int(time.time()) - 2 * 3600),
        lambda message: message,
    ],
    ids=["wrong", "an hour old", "unsigned"],
)
def test_a_bad_signature_is_refused_in_the_robots_words(post, source, load_fixture, make):
    source.signing_secret = SECRET
    source.save()

    response = post(source, make(load_fixture("feishu_robot/text_firing")))

    assert response.status_code == 401
    assert response.json() == {
        "code": 19021,
        "msg": "sign match fail or timestamp is not within one hour from current time",
        "data": {},
    }
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_an_unusable_message_is_a_bad_request_with_the_reason(post, source, load_fixture):
    response = post(source, load_fixture("feishu_robot/bad_image"))

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 9499
    assert body["msg"].startswith("Bad Request: Messages of msg_type 'image' carry no text")
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_bad_json_on_the_robots_url_is_answered_in_its_shape(post, source):
    response = post(source, None, raw=b'{"msg_type": ')

    assert response.status_code == 400
    assert response.json()["code"] == 9499


@pytest.mark.django_db
def test_an_unknown_token_on_the_robots_url_is_the_robots_token_error(client):
    response = client.post(
        "/push/feishu_robot/open-apis/bot/v2/hook/not-a-token",
        data="{}",
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json()["code"] == 19001


@pytest.mark.django_db
def test_another_kinds_token_is_refused_on_the_robots_url(post, channel):
    other = AlertSourceFactory(channel=channel, kind="alertmanager")

    response = post(other, {"msg_type": "text", "content": {"text": "x"}})

    assert response.status_code == 403
    assert response.json()["code"] == 19001
    assert "alertmanager" in response.json()["msg"]


def test_the_setup_guide_gives_the_robots_url_shape():
    guide = FeishuRobotSource().setup_guide("https://oncall.example.com/push/T0KEN")

    assert (
        "https://oncall.example.com/push/feishu_robot/open-apis/bot/v2/hook/T0KEN"
        in (guide.steps[0])
    )
    assert "/open-apis/bot/v2/hook/T0KEN" in guide.snippets[0].text
