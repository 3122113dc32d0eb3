from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.azure_monitor import parser
from integrations.sources.azure_monitor.source import AzureMonitorSource
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert
from tests.factories import AlertSourceFactory
from tests.sources.push_roundtrip import fire_then_resolve

SUB = "7d1c2b3a-0f9e-4d8c-b7a6-5e4f3d2c1b0a"
ALERT_ID = (
    f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/"
    "3f1e2d4c-5b6a-4978-8a1b-2c3d4e5f6a7b"
)


def test_a_fired_metric_alert_fires_on_its_resource(load_fixture):
    (event,) = parser.parse(load_fixture("azure_monitor/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        ALERT_ID,
        EventKind.FIRING,
        Severity.WARNING,
        "Sev1",
    )
    assert event.title == "checkout-vm-cpu on checkout-vm-2"
    assert event.description == (
        "CPU above 85% for 5 minutes\nPercentage CPU GreaterThan 85 (93.1)"
    )
    assert event.starts_at == datetime(2026, 12, 3, 9, 10, 41, 612033, tzinfo=UTC)
    assert event.labels["subscription_id"] == SUB
    assert event.labels["resource_group"] == "shop-prod"
    assert event.labels["resource_name"] == "checkout-vm-2"
    assert event.labels["metric_name"] == "Percentage CPU"
    assert event.labels["Zone"] == "2"
    assert event.labels["team"] == "checkout"  # a custom property
    assert [link.text for link in event.links] == ["Azure portal"]


def test_the_resolved_notification_resolves_the_same_alert(load_fixture):
    (event,) = parser.parse(load_fixture("azure_monitor/recovered"))

    assert (event.alert_key, event.kind) == (ALERT_ID, EventKind.RESOLVED)
    assert event.ends_at == datetime(2026, 12, 3, 9, 31, 2, 91341, tzinfo=UTC)


def test_a_log_search_alert_keeps_its_query_and_results_link(load_fixture):
    (event,) = parser.parse(load_fixture("azure_monitor/log_search_sev0"))

    assert event.severity == Severity.CRITICAL
    assert event.title == "payment-errors on shop-logs"
    assert event.labels["search_query"] == "AppExceptions | where ProblemId has 'Payment'"
    assert event.labels["AppRoleName"] == "payments-api"
    assert [link.text for link in event.links] == ["Search results"]


def test_custom_properties_never_overwrite_the_alerts_own_labels(load_fixture):
    payload = load_fixture("azure_monitor/firing")
    payload["data"]["customProperties"] = {"resource_group": "spoofed", "owner": "ana"}
    labels = parser.parse(payload)[0].labels
    assert (labels["resource_group"], labels["owner"]) == ("shop-prod", "ana")


@pytest.mark.parametrize(("raw", "severity"), AzureMonitorSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    payload = load_fixture("azure_monitor/firing")
    payload["data"]["essentials"]["severity"] = raw
    assert parser.parse(payload)[0].severity == severity


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_not_common_schema", "schemaId"),
        ("bad_monitor_condition", "data.essentials.monitorCondition"),
        ("bad_no_alert_id", "data.essentials.alertId"),
    ],
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"azure_monitor/{case}"))
    assert caught.value.field == field


def test_the_refusal_of_another_schema_says_to_enable_the_common_one(load_fixture):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture("azure_monitor/bad_not_common_schema"))
    assert "enable the common alert schema" in caught.value.message


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert AzureMonitorSource().recognises(load_fixture("azure_monitor/firing"))
    assert not AzureMonitorSource().recognises(load_fixture("gcp_monitoring/firing"))


def test_the_setup_guide_carries_the_push_url():
    guide = AzureMonitorSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)


@pytest.mark.django_db
def test_a_pushed_alert_opens_an_incident_and_its_resolution_resolves_it(
    push, channel, load_fixture
):
    alert = fire_then_resolve(
        push,
        channel,
        "azure_monitor",
        load_fixture("azure_monitor/firing"),
        load_fixture("azure_monitor/recovered"),
    )
    assert alert.status == Alert.Status.RESOLVED


@pytest.mark.django_db
def test_a_payload_of_another_kind_gets_a_400_naming_that_kind(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="azure_monitor")

    response = push(source, load_fixture("gcp_monitoring/firing"))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "schemaId"
    assert "looks like a Google Cloud Monitoring payload" in error["message"]


def test_service_health_updates_merge_per_tracking_id_and_resolve_at_their_last_stage(
    load_fixture,
):
    (active,) = parser.parse(load_fixture("azure_monitor/service_health_active"))
    (resolved,) = parser.parse(load_fixture("azure_monitor/service_health_resolved"))

    assert active.alert_key == f"azure:servicehealth:{SUB}:VT2K-5PX"
    assert resolved.alert_key == active.alert_key  # although Azure gave each its own alertId
    assert (active.kind, resolved.kind) == (EventKind.FIRING, EventKind.RESOLVED)
    assert active.severity == Severity.INFO  # Sev4, as Azure sends every activity log alert
    assert active.labels["tracking_id"] == "VT2K-5PX"
    assert active.labels["impacted_services"] == "Storage"
    assert active.labels["impacted_regions"] == "West Europe"


@pytest.mark.parametrize("stage", ["RCA", "Complete", "Canceled"])
def test_service_health_is_over_at_these_stages(load_fixture, stage):
    payload = load_fixture("azure_monitor/service_health_active")
    payload["data"]["alertContext"]["properties"]["stage"] = stage
    assert parser.parse(payload)[0].kind == EventKind.RESOLVED


def test_resource_health_merges_per_resource_and_resolves_when_available(load_fixture):
    (down,) = parser.parse(load_fixture("azure_monitor/resource_health_unavailable"))
    (up,) = parser.parse(load_fixture("azure_monitor/resource_health_available"))

    assert down.alert_key == (
        f"azure:resourcehealth:/subscriptions/{SUB}/resourcegroups/shop-prod/providers/"
        "microsoft.compute/virtualmachines/checkout-vm-2"
    )
    assert up.alert_key == down.alert_key
    assert (down.kind, up.kind) == (EventKind.FIRING, EventKind.RESOLVED)
    assert down.labels["current_health_status"] == "Unavailable"
    assert down.labels["health_event_cause"] == "PlatformInitiated"
