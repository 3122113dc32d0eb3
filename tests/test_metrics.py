"""``GET /metrics``: what it counts, what it reads from the database and the broker, who may
read it, and counts summed across processes (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import hmac
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from oncall.celery import app as celery_app
from oncall.models import InboundEvent, Incident
from tests import payloads
from tests.factories import AlertSourceFactory, IncidentFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent


Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a labelled counter that has not been counted yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def scrape(client, settings):
    """``scrape()``: the parsed answer of ``/metrics``, read with the configured token."""
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []

    def _scrape() -> Samples:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(response.content.decode())

    return _scrape


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


# --- Pushes ------------------------------------------------------------------------------------


def test_it_counts_pushes_accepted_and_refused_by_kind_and_reason(
    push, source, channel, client, scrape
):
    before = scrape()
    disabled = AlertSourceFactory(channel=channel, kind="standard", enabled=False)
    for _ in range(3):
        assert push(source, payloads.alertmanager(payloads.am_alert())).status_code == 200
    assert push(source, None, raw=b"{not json").status_code == 400
    assert push(source, {"alerts": "nope"}).status_code == 400
    assert push(disabled, payloads.standard()).status_code == 403
    unknown = client.post("/push/no-such-token", data="{}", content_type="application/json")
    assert unknown.status_code == 401
    after = scrape()

    def counted(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert counted("oncall_pushes_accepted_total", kind="alertmanager") == 3
    refused = "oncall_pushes_refused_total"
    assert counted(refused, kind="alertmanager", code="invalid_json") == 1
    assert counted(refused, kind="alertmanager", code="invalid_payload") == 1
    assert counted(refused, kind="standard", code="source_disabled") == 1
    assert counted(refused, kind="unknown", code="invalid_token") == 1


def test_it_counts_pushes_to_pagerdutys_own_url_as_pagerduty(client, channel, scrape):
    source = AlertSourceFactory(channel=channel, kind="pagerduty")
    before = scrape()
    event = payloads.pagerduty(routing_key=source.token)
    accepted = client.post("/push/pagerduty/v2/enqueue", event, content_type="application/json")
    bad = payloads.pagerduty(routing_key="not-a-token")
    refused = client.post("/push/pagerduty/v2/enqueue", bad, content_type="application/json")
    assert (accepted.status_code, refused.status_code) == (202, 401)
    after = scrape()
    assert (
        value(after, "oncall_pushes_accepted_total", kind="pagerduty")
        - value(before, "oncall_pushes_accepted_total", kind="pagerduty")
        == 1
    )
    labels = {"kind": "pagerduty", "code": "invalid_token"}
    assert (
        value(after, "oncall_pushes_refused_total", **labels)
        - value(before, "oncall_pushes_refused_total", **labels)
        == 1
    )


def test_the_backlog_is_what_the_database_holds_pending(push, source, scrape):
    for _ in range(2):
        push(source, payloads.alertmanager(payloads.am_alert()), process=False)
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(seconds=90))
    InboundEvent.objects.filter(pk=InboundEvent.objects.first().pk).update(
        status=InboundEvent.Status.FAILED
    )
    samples = scrape()
    assert value(samples, "oncall_inbound_events", status="pending") == 1
    assert value(samples, "oncall_inbound_events", status="failed") == 1
    assert 90 <= value(samples, "oncall_inbound_oldest_pending_seconds") < 120


def test_no_backlog_reads_zero(scrape):
    samples = scrape()
    assert value(samples, "oncall_inbound_events", status="pending") == 0
    assert value(samples, "oncall_inbound_oldest_pending_seconds") == 0


def test_processing_a_push_observes_how_long_it_waited(push, source, scrape):
    from oncall import ingest

    before = scrape()
    push(source, payloads.alertmanager(payloads.am_alert()), process=False)
    inbound = InboundEvent.objects.get()
    InboundEvent.objects.filter(pk=inbound.pk).update(
        received_at=timezone.now() - timedelta(seconds=7)
    )
    assert ingest.process(inbound.pk)
    assert not ingest.process(inbound.pk)  # processed once: observed once
    after = scrape()
    histogram = "oncall_push_processing_seconds"

    def observed(suffix: str, **labels: str) -> float:
        name = f"{histogram}_{suffix}"
        return value(after, name, kind="alertmanager", **labels) - value(
            before, name, kind="alertmanager", **labels
        )

    assert observed("count") == 1
    assert 7 <= observed("sum") < 30
    assert observed("bucket", le="5.0") == 0
    assert observed("bucket", le="10.0") == 1
    assert value(after, "oncall_inbound_events", status="pending") == 0


# --- Incidents ---------------------------------------------------------------------------------


def test_open_incidents_by_status_match_the_database(scrape):
    Status = Incident.Status
    now = timezone.now()
    for status, count in ((Status.TRIGGERED, 3), (Status.ACKNOWLEDGED, 2), (Status.CLOSED, 4)):
        for _ in range(count):
            IncidentFactory(status=status)
    IncidentFactory(status=Status.TRIGGERED, snoozed_until=now + timedelta(hours=1))
    IncidentFactory(status=Status.CLOSED, snoozed_until=now + timedelta(hours=1))
    IncidentFactory(status=Status.TRIGGERED, next_escalation_at=now - timedelta(minutes=5))
    IncidentFactory(status=Status.TRIGGERED, next_escalation_at=now + timedelta(minutes=5))
    samples = scrape()
    for status in (Status.TRIGGERED, Status.ACKNOWLEDGED):
        expected = Incident.objects.filter(status=status).count()
        assert value(samples, "oncall_incidents", status=status.value) == expected
    assert value(samples, "oncall_incidents", status="triggered") == 6
    # Closed ones are left out: counting them would scan the table at every scrape.
    assert ("oncall_incidents", frozenset({("status", "closed")})) not in samples
    assert value(samples, "oncall_incidents_snoozed") == 1  # the closed one does not count
    assert value(samples, "oncall_escalation_steps_overdue") == 1


# --- Task queues -------------------------------------------------------------------------------


@pytest.fixture
def queues():
    """The console's queues, emptied after the test: what it sent must not reach a worker."""
    names = [queue.name for queue in django_settings.CELERY_TASK_QUEUES]
    yield names
    with celery_app.connection_for_write() as connection:
        for name in names:
            with connection.channel() as channel:
                channel.queue_purge(name)


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_queue_depths_are_read_from_the_broker(scrape, queues):
    default, cards = queues
    before = scrape()
    for _ in range(3):  # sent, not run: send_task goes to the broker even with eager tasks
        celery_app.send_task("oncall.tasks.sweep_snoozed_incidents", queue=default)
    celery_app.send_task("oncall.tasks.sweep_snoozed_incidents", queue=cards)
    after = scrape()
    depth = "oncall_task_queue_depth"
    assert value(after, depth, queue=default) - value(before, depth, queue=default) == 3
    assert value(after, depth, queue=cards) - value(before, depth, queue=cards) == 1
    assert value(after, "oncall_metrics_source_up", source="broker") == 1


def test_a_broker_that_does_not_answer_leaves_the_rest_of_the_scrape(scrape, monkeypatch):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    monkeypatch.setattr(celery_app.conf, "broker_read_url", "redis://127.0.0.1:1/0")
    samples = scrape()
    assert value(samples, "oncall_metrics_source_up", source="broker") == 0
    assert not any(name == "oncall_task_queue_depth" for name, _ in samples)
    assert value(samples, "oncall_metrics_source_up", source="database") == 1
    assert ("oncall_incidents", frozenset({("status", "triggered")})) in samples


# --- Who may read it ---------------------------------------------------------------------------


@pytest.fixture
def unconfigured(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    settings.DEBUG = False
    return settings


def test_it_is_off_when_neither_token_nor_addresses_are_set(client, unconfigured):
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "metrics_disabled"
    assert "METRICS_TOKEN" in response.json()["error"]["message"]


def test_the_development_run_lets_a_scraper_on_loopback_in(client, unconfigured):
    unconfigured.DEBUG = True
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 404


def test_a_token_is_needed_when_one_is_set(client, unconfigured):
    unconfigured.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 403
    for wrong in (f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Token {TOKEN}", TOKEN, "Bearer"):
        response = client.get("/metrics", HTTP_AUTHORIZATION=wrong)
        assert response.status_code == 403, wrong
        assert TOKEN not in response.content.decode()
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"oncall_incidents" in response.content


def test_a_token_with_characters_beyond_ascii_is_refused_not_an_error(client, unconfigured):
    unconfigured.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer \u00e9\u00ff\udcff")
    assert response.status_code == 403


def test_the_token_is_compared_in_constant_time(client, unconfigured, monkeypatch):
    unconfigured.METRICS_TOKEN = TOKEN
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer x").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    # Both answers came from compare_digest, on digests of equal length whatever was sent.
    assert len(compared) == 2
    assert {len(a) for pair in compared for a in pair} == {32}


def test_an_allow_list_admits_only_its_addresses(client, unconfigured):
    unconfigured.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "2001:db8::7"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    forged = client.get("/metrics", REMOTE_ADDR="10.2.0.1", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert forged.status_code == 403


def test_with_both_set_a_scrape_needs_both(client, unconfigured):
    unconfigured.METRICS_TOKEN = TOKEN
    unconfigured.METRICS_ALLOWED_IPS = ["10.1.0.0/16"]
    bearer = f"Bearer {TOKEN}"
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    assert (
        client.get("/metrics", REMOTE_ADDR="10.9.2.3", HTTP_AUTHORIZATION=bearer).status_code == 403
    )
    assert (
        client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=bearer).status_code == 200
    )


def start_with(**variables: str) -> subprocess.CompletedProcess:
    """Load the settings in a new process, as the console starts, with ``variables`` set."""
    return subprocess.run(
        [sys.executable, "-c", "import tests.settings"],
        cwd=ROOT,
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_malformed_allow_list_stops_the_console_from_starting():
    check = start_with(METRICS_ALLOWED_IPS="10.0.0.0/8,not-an-address")
    assert check.returncode != 0
    assert "METRICS_ALLOWED_IPS" in check.stderr
    assert "not-an-address" in check.stderr


def test_a_missing_multiprocess_directory_stops_the_console_from_starting(tmp_path):
    check = start_with(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "missing"))
    assert check.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in check.stderr


def test_a_count_that_cannot_be_written_does_not_fail_what_it_counts(tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    # The directory disappears after the process started (a tmpfs cleaned by hand, say).
    script = textwrap.dedent(
        f"""
        import shutil
        from oncall import metrics

        shutil.rmtree({str(directory)!r})
        metrics.push_answered("alertmanager", 200, "accepted")
        print("the push was answered")
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "the push was answered" in run.stdout
    assert "could not record push_answered" in run.stderr


# --- Several processes -------------------------------------------------------------------------


RECORDING_PROCESS = textwrap.dedent(
    """
    import sys
    from oncall import metrics

    pushes = int(sys.argv[1])
    for _ in range(pushes):
        metrics.push_answered("alertmanager", 200, "accepted")
    metrics.push_answered("unknown", 401, "invalid_token")
    metrics.push_processed("alertmanager", float(sys.argv[2]))
    metrics.notification_failed("feishu", "bot_not_in_chat")
    """
)


def test_counts_written_by_separate_processes_are_summed(client, tmp_path, monkeypatch, scrape):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    for pushes, seconds in ((2, "0.3"), (5, "40")):
        subprocess.run(
            [sys.executable, "-c", RECORDING_PROCESS, str(pushes), seconds],
            cwd=ROOT,
            env=env,
            check=True,
        )
    assert len(list(directory.glob("counter_*.db"))) == 2  # one file per process
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    samples = scrape()
    assert value(samples, "oncall_pushes_accepted_total", kind="alertmanager") == 7
    labels = {"kind": "unknown", "code": "invalid_token"}
    assert value(samples, "oncall_pushes_refused_total", **labels) == 2
    processing = "oncall_push_processing_seconds"
    assert value(samples, f"{processing}_count", kind="alertmanager") == 2
    assert value(samples, f"{processing}_sum", kind="alertmanager") == pytest.approx(40.3)
    assert value(samples, f"{processing}_bucket", kind="alertmanager", le="0.5") == 1
    failed = {"platform": "feishu", "reason": "bot_not_in_chat"}
    assert value(samples, "oncall_notifications_failed_total", **failed) == 2
    # The gauges read at scrape time are there as well.
    assert value(samples, "oncall_metrics_source_up", source="database") == 1


# --- What platforms report ---------------------------------------------------------------------


def test_a_platforms_report_counts_once_its_transaction_commits(
    scrape, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from oncall import platforms

    labels = {"platform": "stub", "reason": "not_linked"}
    before = value(scrape(), "oncall_notifications_failed_total", **labels)

    def failing_step() -> None:
        with transaction.atomic():
            platforms.notifications_failed("stub", "not_linked")
            raise RuntimeError("the escalation step failed: nothing was notified")

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            failing_step()
        platforms.notifications_failed("stub", "not_linked", 2)
        platforms.notifications_sent("stub", 3)
    after = scrape()
    assert value(after, "oncall_notifications_failed_total", **labels) - before == 2
    assert value(after, "oncall_notifications_sent_total", platform="stub") >= 3
