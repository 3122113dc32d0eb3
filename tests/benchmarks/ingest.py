"""Ingestion benchmark: the console as in production, pushed by concurrent Alertmanagers.

    python3 dev.py bench [--clients 8] [--seconds 10] [--batch 10] [--rate 500]

Starts gunicorn and Celery workers on a fresh PostgreSQL database (``oncall_bench``) with Redis
as the broker, creates a channel and an Alertmanager source, then for 0 and for 10,000 already
open incidents:

1. *flat out*: ``--clients`` threads push batches of ``--batch`` alerts as fast as answers come;
2. *paced*: pushes at ``--rate`` events per second;
3. *custom webhook, flat out*: the same bodies as 1, pushed to a ``custom_webhook`` source whose
   mapping reads Alertmanager's fields (``CUSTOM_WEBHOOK_MAPPING``), so that the difference with
   1 is what a mapping costs over a parser (leave it out with ``--kinds alertmanager``);

and prints events accepted per second, p50 / p99 accept latency, events fully processed (the
incident up to date) per second -- events divided by the time from the first push until the
last push of the phase is processed -- and the drain time, from the last answer until the last
push is processed (how far processing lags behind; for a paced phase the processed rate cannot
exceed the pace), and next to them what each event cost: web and worker CPU milliseconds (from
``/proc``, per gunicorn and Celery process group) and SQL statements (counted in those
processes, ``oncall.statement_count``). ``--batch 1`` pushes one alert per request, as
Alertmanager usually posts: the web columns are then the cost of a one-alert push. Alerts come
from a pool of ``--keys`` identities, 80 % firing and 20 % resolved, so pushes open, merge
into, recover and auto-close incidents.

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust) and Redis on 127.0.0.1:6379; it sends
traffic only to 127.0.0.1 and stops by itself. Not part of the test run.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import os
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field

from tests.benchmarks import common

# Overridable, so that two checkouts on one machine can measure at the same time.
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DB_NAME = os.environ.get("BENCH_DB_NAME", "oncall_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


@dataclass
class PhaseResult:
    name: str
    events: int
    send_seconds: float
    process_seconds: float
    drain_seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    usage: common.Usage | None = None

    def row(self) -> list[str]:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat) if lat else float("nan")
        p99 = common.percentile(lat, 0.99)
        return [
            self.name,
            str(self.events),
            f"{self.events / self.send_seconds:,.0f}",
            f"{p50:.1f}",
            f"{p99:.1f}",
            f"{self.events / self.process_seconds:,.0f}",
            f"{self.drain_seconds:.1f}",
            # CPU and statements per event; with --batch 1 the web's are a one-alert push's.
            *(self.usage.cost_cells(self.events) if self.usage else [""] * 4),
            str(self.errors),
        ]


def environment(data_dir: str) -> dict[str, str]:
    return common.environment(
        db_name=DB_NAME, redis_url=REDIS_URL, port=PORT, queue="bench", data_dir=data_dir
    )


# A custom webhook reading the bodies ``batch_body`` makes as the Alertmanager parser reads them.
CUSTOM_WEBHOOK_MAPPING = {
    "alerts": "body.alerts",
    "title": "{{ alert.labels.alertname }}: {{ alert.annotations.summary }}",
    "description": "{{ alert.annotations.description }}",
    "alert_key": "{{ alert.fingerprint }}",
    "severity": "{{ alert.labels.severity }}",
    "status": "{{ alert.status }}",
    "recovery_values": ["resolved"],
    "labels": "alert.labels",
    "links": "[{'href': alert.generatorURL, 'text': 'Source'}]",
}


def custom_webhook_path(channel_name: str = "Bench") -> str:
    """The push path of the benchmark's custom webhook source (created once)."""
    from oncall.models import AlertSource, Channel

    source = AlertSource.objects.filter(name="Bench custom webhook").first()
    if source is None:
        source = AlertSource(
            name="Bench custom webhook",
            kind="custom_webhook",
            channel=Channel.objects.get(name=channel_name),
            options=CUSTOM_WEBHOOK_MAPPING,
        )
        source.clean()  # the mapping checked and filled in, as the admin saves it
        source.save()
    return f"/push/{source.token}"


def seed(open_incidents: int) -> str:
    """Create the channel and source (once) and top up open incidents; return the push path."""
    from django.db import connection
    from django.utils import timezone

    from oncall.merge import next_incident_number
    from oncall.models import Alert, AlertSource, Channel, Incident

    channel, _ = Channel.objects.get_or_create(name="Bench")
    source = AlertSource.objects.filter(name="Bench Alertmanager").first()
    if source is None:
        source = AlertSource.objects.create(
            name="Bench Alertmanager", kind="alertmanager", channel=channel
        )
    missing = open_incidents - Incident.objects.exclude(status="closed").count()
    now = timezone.now()
    for start in range(0, max(missing, 0), 1000):
        size = min(1000, missing - start)
        incidents = Incident.objects.bulk_create(
            Incident(
                number=next_incident_number(),
                channel=channel,
                title=f"Seeded {start + i}",
                severity="warning",
                group_key=f"seed:{start + i}",
                alert_count=1,
            )
            for i in range(size)
        )
        Alert.objects.bulk_create(
            Alert(
                channel=channel,
                source=source,
                incident=incident,
                alert_key=f"seed-{incident.number}",
                title=incident.title,
                severity="warning",
                first_seen=now,
                last_seen=now,
            )
            for incident in incidents
        )
    # A live database has planner statistics and vacuumed tables (autovacuum keeps them); do
    # that work now rather than inside the measured window.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return f"/push/{source.token}"


# --- --noise-rules: each part of noise reduction adds its own configuration ----------------------


def noise_rules() -> None:
    """Configure noise reduction on the benchmark's channel and sources (``--noise-rules``):
    pipelines and silences (below), inhibition, grouping branches, storms and flapping
    (``tests/benchmarks/noise_rules.py``)."""
    from tests.benchmarks.noise_rules import seed_inhibition_and_grouping

    seed_pipelines_and_silences()
    seed_inhibition_and_grouping()


def seed_pipelines_and_silences() -> None:
    """50 pipeline rules on every source and 100 silences on the channel, as a busy console
    has them: most match nothing in the benchmark's traffic (other teams' hosts), a few change
    many events (a label, a title template, a severity), one drops 2 % of them (``Bench49``),
    two silences keep 2 % of new alerts marked (``Bench48``). Weekly silences run all week in
    time zones of their own, so they are active and their conditions are evaluated."""
    from datetime import time as clock
    from datetime import timedelta

    from django.utils import timezone

    from oncall.models import AlertSource, Channel, PipelineRule, Silence

    def eq(key: str, value: str, op: str = "eq") -> dict[str, str]:
        return {"key": key, "op": op, "value": value}

    rules = [
        ("set_labels", [eq("labels.alertname", "Bench1.*", "re")], {"labels": {"tier": "gold"}}),
        ("set_title", [eq("severity", "info")], {"template": "{{ Title }} (info)"}),
        (
            "set_severity",
            [[eq("labels.tier", "gold"), eq("severity", "info")]],
            {"severity": "warning"},
        ),
        ("remove_labels", [eq("labels.job", "node")], {"labels": ["job"]}),
        ("drop", [eq("labels.alertname", "Bench49")], {}),
    ]
    for n in range(45):
        team = [eq("labels.team", f"team-{n}")]
        rules.append(
            [
                ("set_severity", team, {"severity": "critical"}),
                ("set_labels", team, {"labels": {"owner": f"team-{n}"}}),
                ("set_description", team, {"template": "Runbook: https://rb/{{ Labels.team }}"}),
            ][n % 3]
        )
    now = timezone.now()
    for source in AlertSource.objects.filter(name__startswith="Bench"):
        PipelineRule.objects.bulk_create(
            PipelineRule(source=source, position=i, action=a, condition=c, **f)
            for i, (a, c, f) in enumerate(rules)
        )
    channel = Channel.objects.get(name="Bench")
    silences = [
        Silence(
            channel=channel,
            name=f"other host {n}",
            starts_at=now,
            ends_at=now + timedelta(days=1),
            condition=[eq("labels.instance", f"other-{n}:9100")],
        )
        for n in range(90)
    ]
    zones = ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York"]
    silences += [
        Silence(
            channel=channel,
            name=f"weekly {n}",
            kind=Silence.Kind.WEEKLY,
            weekdays=list(range(7)),
            start_time=clock(0),
            end_time=clock(0),
            time_zone=zones[n % len(zones)],
            condition=[eq("labels.instance", f"weekly-{n}:9100")],
        )
        for n in range(8)
    ]
    silences += [
        Silence(
            channel=channel,
            name=f"known noise {n}",
            starts_at=now,
            ends_at=now + timedelta(days=1),
            condition=[[eq("labels.alertname", "Bench48"), eq("severity", sev)]],
        )
        for n, sev in enumerate(["critical", "warning"])
    ]
    Silence.objects.bulk_create(silences)


def batch_body(rng: random.Random, batch: int, keys: int) -> bytes:
    alerts = []
    for _ in range(batch):
        key = rng.randrange(keys)
        status = "resolved" if rng.random() < 0.2 else "firing"
        alerts.append(
            {
                "status": status,
                "labels": {
                    "alertname": f"Bench{key % 50}",
                    "instance": f"host-{key}:9100",
                    "severity": rng.choice(["critical", "warning", "info"]),
                    "job": "node",
                },
                "annotations": {"summary": f"Bench alert {key}", "description": "benchmark"},
                "startsAt": "2026-11-21T10:00:00Z",
                "endsAt": "2026-11-21T10:05:00Z"
                if status == "resolved"
                else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": f"bench-{key:06d}",
            }
        )
    return common.alertmanager_body(alerts)


def push_loop(
    path: str,
    bodies: list[bytes],
    start_at: list[float] | None,
    latencies: list[float],
    errors: list[int],
    *,
    port: int = PORT,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for index, body in enumerate(bodies):
        if start_at is not None:
            delay = start_at[index] - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        began = time.monotonic()
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            ok = False
        latencies.append((time.monotonic() - began) * 1000)
        if not ok:
            errors.append(1)
    conn.close()


def wait_processed(timeout: float = 600) -> float:
    from oncall.models import InboundEvent

    def processed() -> bool:
        return not InboundEvent.objects.filter(status=InboundEvent.Status.PENDING).exists()

    failure = "events were still pending after the timeout"
    return common.wait_until(processed, failure, timeout=timeout, every=0.05)


def run_phase(
    name: str,
    path: str,
    args: argparse.Namespace,
    rate: float | None,
    *,
    servers: common.Servers | None = None,
    bodies_of: str | None = None,
    port: int = PORT,
) -> PhaseResult:
    """One phase; ``bodies_of`` names the phase whose bodies to push again (same random seed);
    the pushes go to the server on ``port`` (this benchmark's unless another runs the phase)."""
    rng = random.Random(bodies_of or name)
    total_batches = int((rate or 10_000) * args.seconds / args.batch) if rate else None
    per_client: list[list[bytes]] = [[] for _ in range(args.clients)]
    schedules: list[list[float] | None] = [None] * args.clients
    if rate:
        interval = args.batch / rate
        start = time.monotonic() + 0.5
        for i in range(total_batches):
            per_client[i % args.clients].append(batch_body(rng, args.batch, args.keys))
        schedules = [
            [start + (c + k * args.clients) * interval for k in range(len(per_client[c]))]
            for c in range(args.clients)
        ]
    else:
        for c in range(args.clients):
            per_client[c] = [
                batch_body(rng, args.batch, args.keys)
                for _ in range(args.flat_batches // args.clients)
            ]
    latencies: list[float] = []
    errors: list[int] = []
    threads = [
        threading.Thread(
            target=push_loop,
            args=(path, per_client[c], schedules[c], latencies, errors),
            kwargs={"port": port},
        )
        for c in range(args.clients)
    ]
    meter = common.CpuMeter(servers) if servers else None
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = time.monotonic()
    # The web's share is read at the last answer: while the workers drain, the web servers
    # only idle, and a short phase would charge that to each push.
    answered = meter.read() if meter else None
    done = wait_processed()
    events = sum(len(bodies) for bodies in per_client) * args.batch
    usage = None
    if meter and answered:
        web = {"web": answered.web, "web_statements": answered.web_statements}
        usage = dataclasses.replace(meter.read(), **web)
    return PhaseResult(
        name,
        events,
        sent - began,
        done - began,
        done - sent,
        latencies,
        len(errors),
        usage,
    )


def print_table(results: list[PhaseResult], args: argparse.Namespace) -> None:
    header = [
        "phase",
        "events",
        "accepted ev/s",
        "p50 ms",
        "p99 ms",
        "processed ev/s",
        "drain s",
        *common.cost_header(),
        "errors",
    ]
    print(
        f"\nbatch {args.batch} alerts/request, {args.clients} clients, "
        f"{args.web_workers} gunicorn workers x 4 threads, {args.task_workers} Celery workers, "
        f"PostgreSQL + Redis, {os.cpu_count()} cores"
    )
    common.print_rows([header, *(r.row() for r in results)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--flat-batches", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--open-incidents", default="0,10000")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--task-workers", type=int, default=2)
    parser.add_argument(
        "--noise-rules",
        action="store_true",
        help="configure noise reduction as a busy console has it (noise_rules): the sources' "
        "pipelines (50 rules), the channel's silences (100), 20 inhibit rules, grouping "
        "branches, strict grouping, storm thresholds and flapping",
    )
    parser.add_argument(
        "--kinds",
        default="alertmanager,custom_webhook",
        help="custom_webhook adds a flat-out phase pushing the same bodies through a mapping",
    )
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="oncall-bench-")
    env = environment(data_dir)
    common.setup_django(env)
    common.stop_on_sigterm()
    results = []
    for level in (int(n) for n in args.open_incidents.split(",")):
        results.extend(run_level(level, env, args))
    print_table(results, args)


def run_level(level: int, env: dict[str, str], args: argparse.Namespace) -> list[PhaseResult]:
    """Both phases on a fresh database holding ``level`` open incidents, so that the number of
    open incidents is the only thing that differs between levels."""
    common.reset_state(DB_NAME, REDIS_URL)
    path = seed(level)
    kinds = args.kinds.split(",")
    mapped = custom_webhook_path() if "custom_webhook" in kinds else None
    if args.noise_rules:
        noise_rules()
    with common.Servers(
        env, port=PORT, web_workers=args.web_workers, task_workers=args.task_workers
    ) as servers:
        paced = f"{args.rate:.0f} ev/s, {level:,} open"
        results = [
            run_phase(f"flat out, {level:,} open", path, args, rate=None, servers=servers),
            run_phase(paced, path, args, rate=args.rate, servers=servers),
        ]
        if mapped:
            name = f"custom webhook, flat out, {level:,} open"
            flat = f"flat out, {level:,} open"
            results.append(
                run_phase(name, mapped, args, rate=None, servers=servers, bodies_of=flat)
            )
        return results


if __name__ == "__main__":
    main()
