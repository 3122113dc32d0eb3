from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime

import pytest

from integrations.sources.oceanbase import parser as ob
from integrations.sources.oceanbase.source import SCRIPT, OceanbaseSource
from oncall.events import EventKind, Link, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_an_active_alarm_as_a_firing_alert(load_fixture):
    [event] = ob.parse(load_fixture("oceanbase/firing"))

    assert event.alert_key == "oceanbase:3041877"
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "critical",
    )
    assert event.title == (
        "ob_server_memstore_usage_high on obcluster=prod-trade:tenant=order_db:svr_ip=10.30.1.12"
    )
    assert event.description == (
        "Tenant order_db memstore usage 93% on 10.30.1.12\n"
        "memstore usage of tenant order_db on observer 10.30.1.12 is 93%, above 85%"
    )
    assert (event.starts_at, event.ends_at) == (datetime(2024, 12, 3, 8, 2, 11, tzinfo=UTC), None)
    assert event.links == (Link("https://ocp.example.internal/alarm/event/3041877", "OCP"),)
    assert event.labels == {
        "app_type": "OceanBase",
        "alarm_type": "ob_tenant_memstore_usage",
        "alarm_target": "obcluster=prod-trade:tenant=order_db:svr_ip=10.30.1.12",
        "alarm_threshold": "85",
        "ob_cluster_group": "prod-trade",
        "ob_cluster": "prod-trade",
        "host_ip": "10.30.1.12",
        "service": "observer",
    }


def test_an_inactive_alarm_resolves_the_same_alert(load_fixture):
    [firing] = ob.parse(load_fixture("oceanbase/firing"))
    [recovered] = ob.parse(load_fixture("oceanbase/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED
    assert recovered.ends_at == datetime(2024, 12, 3, 8, 40, 11, tzinfo=UTC)


def test_a_down_server_without_target_is_critical(load_fixture):
    [event] = ob.parse(load_fixture("oceanbase/down_without_target"))

    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.CRITICAL)
    assert event.title == "ob_server_inactive"
    assert (event.starts_at, event.links) == (None, ())


@pytest.mark.parametrize(("level", "severity"), OceanbaseSource.severity_table)
def test_it_maps_the_knowledge_base_severity_table(load_fixture, level, severity):
    payload = load_fixture("oceanbase/firing")
    payload["alarm_level"] = level

    [event] = ob.parse(payload)

    assert event.severity == severity


@pytest.mark.parametrize(("level", "severity"), [("alert", "warning"), ("info", "info")])
def test_it_reads_ocps_own_words_for_warning_and_notice(load_fixture, level, severity):
    payload = load_fixture("oceanbase/firing")
    payload["alarm_level"] = level

    assert ob.parse(payload)[0].severity == severity


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_status", "alarm_status"),
        ("bad_empty_alarm_id", "alarm_id"),
        ("bad_active_at", "active_at"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        ob.parse(load_fixture(f"oceanbase/{case}"))

    assert error.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert ob.recognises(load_fixture("oceanbase/down_without_target"))
    assert not ob.recognises(load_fixture("volc_tls/firing"))
    assert not ob.recognises(load_fixture("blueking/firing"))


def test_the_shipped_script_posts_what_the_parser_reads(tmp_path):
    # curl replaced by a stand-in that prints the body it was given: nothing leaves the machine.
    fake_curl = tmp_path / "curl"
    fake_curl.write_text(
        '#!/bin/sh\nwhile [ "$1" != "--data-binary" ]; do shift; done\nprintf "%s" "$2"\n'
    )
    fake_curl.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "TZ": "UTC",
        "alarm_id": "77",
        "alarm_status": "Active",
        "alarm_level": "down",
        "alarm_name": 'observer "down"',
        "alarm_description": "line one\nline two\twith a \\ backslash",
        "ob_cluster": "prod",
        "alarm_active_at": "2024-12-03 08:00:00",
    }
    script = SCRIPT.replace("__PUSH_URL__", "https://oncall.example.com/push/T")

    posted = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)

    [event] = ob.parse(json.loads(posted.stdout))
    assert (event.alert_key, event.kind, event.severity) == (
        "oceanbase:77",
        EventKind.FIRING,
        Severity.CRITICAL,
    )
    assert event.title == 'observer "down"'
    assert event.description == "line one\nline two\twith a \\ backslash"
    assert event.starts_at == datetime(2024, 12, 3, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="oceanbase")

    assert_fires_then_resolves(
        push, source, load_fixture("oceanbase/firing"), load_fixture("oceanbase/recovered")
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="oceanbase")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("zilliz/firing"),
        "This looks like a Zilliz Cloud payload; this source expects OceanBase (OCP).",
    )
