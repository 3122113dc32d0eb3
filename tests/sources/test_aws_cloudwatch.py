from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from celery.exceptions import Retry

from integrations.sources.aws_cloudwatch import parser, sns
from integrations.sources.aws_cloudwatch.source import AwsCloudWatchSource
from integrations.sources.aws_cloudwatch.tasks import confirm_subscription
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert, InboundEvent, Incident
from oncall.sources import PushRequest
from tests.factories import AlertSourceFactory
from tests.listener import Listener
from tests.sources.push_roundtrip import fire_then_resolve

ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:checkout-cpu-high"
TOPIC = "arn:aws:sns:eu-west-1:210987654321:oncall-console"
SNS_HOST = "sns.eu-west-1.amazonaws.com"


def alarm_message(payload: dict) -> dict:
    return json.loads(payload["Message"])


def with_alarm(payload: dict, **changes) -> dict:
    return payload | {"Message": json.dumps(alarm_message(payload) | changes)}


# --- CloudWatch alarms ------------------------------------------------------------------------


def test_an_alarm_fires_with_its_metric_and_place(load_fixture):
    (event,) = parser.parse(load_fixture("aws_cloudwatch/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        ALARM_ARN,
        EventKind.FIRING,
        Severity.WARNING,
        "ALARM",
    )
    assert event.title == "checkout-cpu-high"
    assert event.description.startswith("Threshold Crossed: 1 out of the last 1 datapoints")
    assert event.description.endswith("\n\nCheckout fleet CPU above 80% for 5 minutes.")
    assert event.starts_at == datetime(2026, 12, 3, 9, 15, 42, 123000, tzinfo=UTC)
    assert event.labels == {
        "alarm_arn": ALARM_ARN,
        "aws_account_id": "210987654321",
        "region": "eu-west-1",
        "new_state_value": "ALARM",
        "old_state_value": "OK",
        "trigger_metric_name": "CPUUtilization",
        "trigger_namespace": "AWS/EC2",
        "trigger_statistic": "AVERAGE",
        "trigger_threshold": "80.0",
        "trigger_comparison": "GreaterThanThreshold",
        "trigger_dimensions_InstanceId": "i-0a1b2c3d4e5f60718",
        "resource": "i-0a1b2c3d4e5f60718",
    }
    assert [link.href for link in event.links] == [
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#alarmsV2:alarm/checkout-cpu-high"
    ]


def test_ok_resolves_the_same_alarm(load_fixture):
    (event,) = parser.parse(load_fixture("aws_cloudwatch/recovered"))

    assert (event.alert_key, event.kind) == (ALARM_ARN, EventKind.RESOLVED)
    assert event.ends_at == datetime(2026, 12, 3, 9, 40, 11, 4000, tzinfo=UTC)


def test_a_renamed_alarm_keeps_its_identity(load_fixture):
    renamed = with_alarm(load_fixture("aws_cloudwatch/firing"), AlarmName="cpu-high-renamed")
    assert parser.parse(renamed)[0].alert_key == ALARM_ARN


def test_raw_message_delivery_posts_the_alarm_alone(load_fixture):
    (event,) = parser.parse(load_fixture("aws_cloudwatch/raw_delivery_insufficient_data"))

    assert (event.alert_key, event.kind, event.severity) == (
        ALARM_ARN,
        EventKind.FIRING,
        Severity.CRITICAL,
    )


def test_a_metric_math_alarm_labels_each_query(load_fixture):
    (event,) = parser.parse(load_fixture("aws_cloudwatch/metric_math"))

    assert event.severity == Severity.INFO  # oncall_severity=info in its description
    assert event.labels["trigger_expression_ratio"] == "100*errors/requests"
    assert event.labels["trigger_metric_errors"] == "AWS/ApplicationELB/HTTPCode_Target_5XX_Count"
    assert event.labels["trigger_dimensions_LoadBalancer"] == "app/api-alb/50dc6c495c0c9188"


def test_a_composite_alarm_names_its_rule_and_children(load_fixture):
    payload = with_alarm(
        load_fixture("aws_cloudwatch/firing"),
        AlarmRule='ALARM("cpu") AND ALARM("mem")',
        TriggeringChildren=[{"Arn": "arn:aws:cloudwatch:eu-west-1:1:alarm:cpu"}],
        Trigger=None,
    )
    labels = parser.parse(payload)[0].labels
    assert labels["alarm_rule"] == 'ALARM("cpu") AND ALARM("mem")'
    assert labels["triggering_children"] == "arn:aws:cloudwatch:eu-west-1:1:alarm:cpu"


@pytest.mark.parametrize(("raw", "severity"), AwsCloudWatchSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    firing = load_fixture("aws_cloudwatch/firing")
    if raw.startswith("flashduty_severity"):
        payload = with_alarm(firing, AlarmDescription=f"Checkout CPU {raw.upper()}")
    else:
        payload = with_alarm(firing, NewStateValue=raw)
    (event,) = parser.parse(payload)
    assert (event.severity, event.kind) == (severity, EventKind.FIRING)


def test_the_severity_marker_takes_an_equals_sign_and_any_case(load_fixture):
    payload = with_alarm(
        load_fixture("aws_cloudwatch/firing"), AlarmDescription="Flashduty_Severity=Critical"
    )
    assert parser.parse(payload)[0].severity == Severity.CRITICAL


# --- Other messages on the topic --------------------------------------------------------------


def test_any_other_message_is_a_warning_keyed_by_the_sns_message(load_fixture):
    (event,) = parser.parse(load_fixture("aws_cloudwatch/budget_plain_text"))

    assert event.alert_key == "sns:3c4d5e6f-1a2b-5c3d-8e9f-0a1b2c3d4e05"
    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.WARNING)
    assert event.title == "AWS Budgets: monthly-total has exceeded your alert threshold"
    assert "The ACTUAL Cost associated with this budget is $812.44." in event.description


def test_without_a_subject_the_first_line_is_the_title(load_fixture):
    payload = load_fixture("aws_cloudwatch/budget_plain_text") | {"Subject": None}
    assert parser.parse(payload)[0].title == "AWS Budget Notification December 03, 2026"


# --- Refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_alarm_without_arn", "Message.AlarmArn"),
        ("bad_message_not_string", "Message"),
        ("bad_state", "Message.NewStateValue"),
    ],
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"aws_cloudwatch/{case}"))
    assert caught.value.field == field


def test_an_unknown_sns_type_is_refused(load_fixture):
    payload = load_fixture("aws_cloudwatch/firing") | {"Type": "Broadcast"}
    with pytest.raises(PayloadError) as caught:
        parser.parse(payload)
    assert caught.value.field == "Type"


def test_it_recognises_its_own_payloads_and_not_another(load_fixture):
    source = AwsCloudWatchSource()
    assert source.recognises(load_fixture("aws_cloudwatch/firing"))
    assert source.recognises(load_fixture("aws_cloudwatch/raw_delivery_insufficient_data"))
    assert not source.recognises(load_fixture("grafana/unified_firing"))
    assert not source.recognises({"Type": "Notification"})


# --- The subscription handshake ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-1.amazonaws.com.attacker.example/?Action=ConfirmSubscription",
        "https://attacker.example/?Action=ConfirmSubscription",
        "https://sqs.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://user:pw@sns.eu-west-1.amazonaws.com/",
        "file:///etc/passwd",
        "",
        None,
    ],
)
def test_a_subscribe_url_elsewhere_than_amazon_sns_is_refused(url):
    assert sns.subscribe_url_problem(url)


@pytest.mark.parametrize(
    "host",
    [
        "sns.eu-west-1.amazonaws.com",
        "sns.cn-north-1.amazonaws.com.cn",
        "sns.us-gov-west-1.amazonaws.com",
    ],
)
def test_amazon_sns_hosts_are_accepted(host):
    assert sns.subscribe_url_problem(f"https://{host}/?Action=ConfirmSubscription") == ""


def test_a_forged_subscribe_url_gets_a_400_naming_it(load_fixture):
    answer = AwsCloudWatchSource().handshake(
        load_fixture("aws_cloudwatch/bad_subscribe_url_elsewhere"), PushRequest.bare()
    )
    assert answer.status == 400
    assert answer.body["error"]["field"] == "SubscribeURL"


def test_an_unsubscribe_confirmation_is_answered_and_a_notification_is_not(load_fixture):
    unsubscribe = load_fixture("aws_cloudwatch/subscription_confirmation") | {
        "Type": "UnsubscribeConfirmation"
    }
    source = AwsCloudWatchSource()

    assert source.handshake(unsubscribe, PushRequest.bare()).status == 200
    assert source.handshake(load_fixture("aws_cloudwatch/firing"), PushRequest.bare()) is None


@pytest.mark.django_db
class TestThroughThePushUrl:
    @pytest.fixture
    def source(self, channel):
        return AlertSourceFactory(channel=channel, kind="aws_cloudwatch")

    def post_as_sns(self, client, django_capture_on_commit_callbacks, source, payload):
        # SNS posts its JSON as text/plain.
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/push/{source.token}", data=json.dumps(payload), content_type="text/plain"
            )

    def test_the_console_confirms_the_subscription_through_the_outbound_guard(
        self, client, django_capture_on_commit_callbacks, source, load_fixture, fake_dns, settings
    ):
        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        fake_dns.answers[SNS_HOST] = ["127.0.0.1"]
        confirmation = load_fixture("aws_cloudwatch/subscription_confirmation")

        with Listener() as listener:
            confirmation["SubscribeURL"] = (
                f"http://{SNS_HOST}:{listener.port}/?Action=ConfirmSubscription&Token=2336412f"
            )
            response = self.post_as_sns(
                client, django_capture_on_commit_callbacks, source, confirmation
            )

        assert response.status_code == 202
        assert listener.everything.startswith(b"GET /?Action=ConfirmSubscription&Token=2336412f ")
        assert fake_dns.lookups == [SNS_HOST]
        note = InboundEvent.objects.get(source=source)
        assert note.events == []
        assert note.notes == [f"Amazon SNS subscription to {TOPIC} confirmed."]
        assert not Alert.objects.exists()

    def test_a_refused_confirmation_is_noted_and_nothing_is_fetched(
        self, client, django_capture_on_commit_callbacks, source, load_fixture, fake_dns, settings
    ):
        settings.OUTBOUND_ALLOWED_NETWORKS = []
        fake_dns.answers[SNS_HOST] = ["10.0.0.7"]  # an inward address: the guard refuses it

        response = self.post_as_sns(
            client,
            django_capture_on_commit_callbacks,
            source,
            load_fixture("aws_cloudwatch/subscription_confirmation"),
        )

        assert response.status_code == 202
        (note,) = InboundEvent.objects.get(source=source).notes
        assert note.startswith(f"Amazon SNS subscription to {TOPIC} not confirmed: ")

    def test_a_forged_subscribe_url_is_refused_and_nothing_fetched_or_stored(
        self, client, django_capture_on_commit_callbacks, source, load_fixture, fake_dns
    ):
        response = self.post_as_sns(
            client,
            django_capture_on_commit_callbacks,
            source,
            load_fixture("aws_cloudwatch/bad_subscribe_url_elsewhere"),
        )

        assert response.status_code == 400
        assert response.json()["error"]["field"] == "SubscribeURL"
        assert fake_dns.lookups == []
        assert not InboundEvent.objects.exists()

    def test_an_unsubscribe_confirmation_stores_nothing(
        self, client, django_capture_on_commit_callbacks, source, load_fixture
    ):
        unsubscribe = load_fixture("aws_cloudwatch/subscription_confirmation") | {
            "Type": "UnsubscribeConfirmation"
        }
        response = self.post_as_sns(client, django_capture_on_commit_callbacks, source, unsubscribe)

        assert response.status_code == 200
        assert not InboundEvent.objects.exists()

    def test_a_text_plain_alarm_opens_an_incident(
        self, client, django_capture_on_commit_callbacks, source, load_fixture
    ):
        response = self.post_as_sns(
            client,
            django_capture_on_commit_callbacks,
            source,
            load_fixture("aws_cloudwatch/firing"),
        )

        assert response.status_code == 200
        assert Incident.objects.count() == 1
        assert Alert.objects.get().alert_key == ALARM_ARN


@pytest.mark.django_db
def test_a_pushed_alarm_opens_an_incident_and_ok_resolves_it(push, channel, load_fixture):
    alert = fire_then_resolve(
        push,
        channel,
        "aws_cloudwatch",
        load_fixture("aws_cloudwatch/firing"),
        load_fixture("aws_cloudwatch/recovered"),
    )
    assert alert.status == Alert.Status.RESOLVED
    assert alert.alert_key == ALARM_ARN


def test_a_cost_anomaly_is_one_warning_per_anomaly(load_fixture):
    payload = load_fixture("aws_cloudwatch/cost_anomaly")
    (event,) = parser.parse(payload)

    assert event.alert_key == "cost-anomaly:6f4b2e1c-7d8a-4c3b-9e0f-1a2b3c4d5e6f"
    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.WARNING)
    assert event.title == "Cost anomaly: Amazon Elastic Compute Cloud - Compute"
    assert event.labels == {
        "account_id": "210987654321",
        "monitor_name": "Services",
        "total_impact": "412.5",
        "root_cause_services": "Amazon Elastic Compute Cloud - Compute",
    }
    assert [link.text for link in event.links] == ["Cost anomaly"]
    again = payload | {"MessageId": "another-notification-of-the-same-anomaly"}
    assert parser.parse(again)[0].alert_key == event.alert_key


@pytest.fixture
def closed_sns_url(fake_dns, settings) -> str:
    """A SubscribeURL whose host resolves to a loopback port nobody listens on any more."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    fake_dns.answers[SNS_HOST] = ["127.0.0.1"]
    with Listener() as listener:
        return f"http://{SNS_HOST}:{listener.port}/?Action=ConfirmSubscription"


@pytest.mark.django_db
def test_a_confirmation_that_cannot_connect_is_retried(channel, closed_sns_url):
    source = AlertSourceFactory(channel=channel, kind="aws_cloudwatch")

    with pytest.raises(Retry) as retried:
        confirm_subscription.apply(args=(source.pk, closed_sns_url, TOPIC))

    assert "ConfirmSubscription" not in str(retried.value)  # no URL, no token in the logs
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_the_last_failed_try_is_noted(channel, closed_sns_url):
    source = AlertSourceFactory(channel=channel, kind="aws_cloudwatch")

    confirm_subscription.apply(
        args=(source.pk, closed_sns_url, TOPIC), retries=confirm_subscription.max_retries
    )

    (note,) = InboundEvent.objects.get(source=source).notes
    assert note == (
        f"Amazon SNS subscription to {TOPIC} not confirmed: the request failed (ConnectionError)."
    )


@pytest.mark.django_db
def test_a_confirmation_for_a_deleted_source_does_nothing(fake_dns):
    confirm_subscription.apply(args=(987654, f"https://{SNS_HOST}/?Action=X", TOPIC))
    assert fake_dns.lookups == []
    assert not InboundEvent.objects.exists()
