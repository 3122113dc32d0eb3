from __future__ import annotations

import copy

import pytest

from integrations.sources.aws_cloudwatch.source import AwsCloudWatchSource
from integrations.sources.aws_eventbridge import parser
from integrations.sources.aws_eventbridge.source import AwsEventBridgeSource
from integrations.sources.common import ALERT_KEY_MAX_CHARS
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert
from oncall.sources import PushRequest
from tests.sources.push_roundtrip import fire_then_resolve

ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:orders-queue-depth"
GUARDDUTY_KEY = "guardduty:210987654321:eu-west-1:16afba5c5c43e07c9e3e5e2e544e95df"


def event_of(payload):
    (event,) = parser.parse(payload)
    return event


def test_a_cloudwatch_alarm_event_fires_on_its_arn(load_fixture):
    event = event_of(load_fixture("aws_eventbridge/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        ALARM_ARN,
        EventKind.FIRING,
        Severity.CRITICAL,  # its description says flashduty_severity: critical
        "flashduty_severity: critical",
    )
    assert event.title == "orders-queue-depth"
    assert event.description.startswith("orders-queue-depth\n\nThreshold Crossed")
    assert event.labels["check"] == "CloudWatch Alarm State Change"
    assert event.labels["state_value"] == "ALARM"
    assert '"alarmName": "orders-queue-depth"' in event.labels["detail"]


def test_the_alarms_ok_event_resolves_it(load_fixture):
    event = event_of(load_fixture("aws_eventbridge/recovered"))
    assert (event.alert_key, event.kind) == (ALARM_ARN, EventKind.RESOLVED)


def test_a_guardduty_finding_merges_by_account_region_and_id_and_never_resolves(load_fixture):
    event = event_of(load_fixture("aws_eventbridge/guardduty_finding"))

    assert (event.alert_key, event.kind, event.severity) == (
        GUARDDUTY_KEY,
        EventKind.FIRING,
        Severity.WARNING,
    )
    assert event.labels["guardduty_severity"] == "5"
    assert event.title.startswith("198.51.100.7 is performing SSH brute force attacks")


def test_each_security_hub_finding_is_its_own_alert(load_fixture):
    mfa, trail = parser.parse(load_fixture("aws_eventbridge/securityhub_two_findings"))

    assert mfa.alert_key != trail.alert_key
    assert (mfa.kind, mfa.labels["severity_label"]) == (EventKind.FIRING, "MEDIUM")
    assert (trail.kind, trail.labels["severity_label"]) == (EventKind.RESOLVED, "HIGH")


def test_an_archived_security_hub_finding_resolves(load_fixture):
    payload = load_fixture("aws_eventbridge/securityhub_two_findings")
    payload["detail"]["findings"][0]["RecordState"] = "ARCHIVED"
    assert parser.parse(payload)[0].kind == EventKind.RESOLVED


@pytest.mark.parametrize(
    ("detail_type", "source", "detail", "key", "kind"),
    [
        (
            "AWS Health Event",
            "aws.health",
            {"eventArn": "arn:aws:health:eu-west-1::event/EC2/X/1", "statusCode": "closed"},
            "health:arn:aws:health:eu-west-1::event/EC2/X/1:210987654321",
            EventKind.RESOLVED,
        ),
        (
            "Inspector2 Finding",
            "aws.inspector2",
            {"findingArn": "arn:aws:inspector2:eu-west-1:1:finding/f1", "status": "ACTIVE"},
            "inspector:arn:aws:inspector2:eu-west-1:1:finding/f1",
            EventKind.FIRING,
        ),
        (
            "Config Rules Compliance Change",
            "aws.config",
            {
                "configRuleName": "s3-versioning",
                "resourceType": "AWS::S3::Bucket",
                "resourceId": "logs",
                "newEvaluationResult": {"complianceType": "COMPLIANT"},
            },
            "config:210987654321:eu-west-1:s3-versioning:AWS::S3::Bucket:logs",
            EventKind.RESOLVED,
        ),
        (
            "DevOps Guru Insight Closed",
            "aws.devops-guru",
            {"insightId": "ADPT1", "insightSeverity": "high"},
            "devopsguru:210987654321:eu-west-1:ADPT1",
            EventKind.RESOLVED,
        ),
        (
            "DevOps Guru New Insight Open",
            "aws.devops-guru",
            {"insightId": "ADPT1", "insightSeverity": "high"},
            "devopsguru:210987654321:eu-west-1:ADPT1",
            EventKind.FIRING,
        ),
    ],
)
def test_the_knowledge_bases_identity_and_recovery_per_source(
    load_fixture, detail_type, source, detail, key, kind
):
    payload = load_fixture("aws_eventbridge/other_ec2_state") | {
        "detail-type": detail_type,
        "source": source,
        "detail": detail,
    }
    event = event_of(payload)
    assert (event.alert_key, event.kind, event.severity) == (key, kind, Severity.WARNING)


def test_any_other_event_is_its_own_alert_with_a_readable_summary(load_fixture):
    event = event_of(load_fixture("aws_eventbridge/other_ec2_state"))

    assert event.alert_key == "eventbridge:7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c99"
    assert event.title == "i-0abcd1234ef567890 stopped"
    assert event.kind == EventKind.FIRING


def test_an_event_without_a_summary_is_titled_by_source_and_detail_type(load_fixture):
    payload = load_fixture("aws_eventbridge/other_ec2_state") | {"detail": {}}
    assert event_of(payload).title == "aws.ec2::EC2 Instance State-change Notification"


def test_an_event_relayed_by_sns_reads_like_the_same_event(load_fixture):
    relayed = event_of(load_fixture("aws_eventbridge/sns_relayed_guardduty"))
    direct = event_of(load_fixture("aws_eventbridge/guardduty_finding"))
    assert relayed == direct


def test_an_over_long_identity_is_shortened_stably(load_fixture):
    payload = load_fixture("aws_eventbridge/firing")
    payload["resources"] = [ALARM_ARN + "-" + "x" * 300]
    first, second = event_of(payload), event_of(copy.deepcopy(payload))
    assert len(first.alert_key) <= ALERT_KEY_MAX_CHARS
    assert first.alert_key == second.alert_key


@pytest.mark.parametrize(("raw", "severity"), AwsEventBridgeSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    if raw.startswith("flashduty_severity"):
        payload = load_fixture("aws_eventbridge/firing")
        payload["detail"]["configuration"]["description"] = f"Queue depth {raw}"
    else:
        payload = load_fixture("aws_eventbridge/guardduty_finding")
    assert event_of(payload).severity == severity


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_alarm_without_resources", "resources[0]"),
        ("bad_guardduty_without_id", "detail.id"),
        ("bad_sns_message_not_an_event", "Message"),
        ("bad_securityhub_no_findings", "detail.findings"),
    ],
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"aws_eventbridge/{case}"))
    assert caught.value.field == field


def test_it_and_the_cloudwatch_kind_each_recognise_their_own_sns_messages(load_fixture):
    relayed_event = load_fixture("aws_eventbridge/sns_relayed_guardduty")
    alarm = load_fixture("aws_cloudwatch/firing")

    assert AwsEventBridgeSource().recognises(relayed_event)
    assert not AwsCloudWatchSource().recognises(relayed_event)
    assert AwsCloudWatchSource().recognises(alarm)
    assert not AwsEventBridgeSource().recognises(alarm)
    assert not AwsEventBridgeSource().recognises(load_fixture("grafana/unified_firing"))


def test_it_answers_the_sns_subscription_handshake(load_fixture):
    confirmation = load_fixture("aws_cloudwatch/subscription_confirmation")
    answer = AwsEventBridgeSource().handshake(confirmation, PushRequest.bare())
    assert answer.status == 202


def test_the_setup_guide_carries_the_push_url():
    guide = AwsEventBridgeSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)


@pytest.mark.django_db
def test_a_pushed_alarm_event_opens_an_incident_and_its_ok_resolves_it(push, channel, load_fixture):
    alert = fire_then_resolve(
        push,
        channel,
        "aws_eventbridge",
        load_fixture("aws_eventbridge/firing"),
        load_fixture("aws_eventbridge/recovered"),
    )
    assert alert.status == Alert.Status.RESOLVED
