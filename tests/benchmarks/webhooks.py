"""Outbound webhooks benchmark: delivery throughput, and what a dead receiver costs ingestion.

    python3 dev.py bench webhooks [--incidents 1000] [--endpoints 3] [--webhook-workers 4]

1. *Deliveries*: ``--incidents`` alerts, each opening an incident, are pushed with the webhooks
   worker stopped, so that their events (i_new, a_new, i_assign) wait for ``--endpoints``
   endpoints on a local receiver; then a webhooks worker of ``--webhook-workers`` processes
   starts and the time until every delivery is delivered gives deliveries per second. The
   receiver checks every signature (``standardwebhooks``), that each event arrives once per
   endpoint, and that one incident's events arrive in sequence order.
2. *Ingestion*: the ingestion benchmark's flat-out and paced phases (small: ``--flat-batches``,
   ``--seconds``, ``--rate``), first with no endpoint, then with an endpoint subscribed to
   every event whose receiver is dead (a socket that accepts connections and never answers,
   so that every attempt waits for its 15 s timeout) and the webhooks worker running.

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (database ``--redis-db``);
traffic stays on 127.0.0.1. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from collections import defaultdict

from tests.benchmarks import common, ingest

PORT = 8795
DB_NAME = "oncall_bench_webhooks"


def environment(data_dir: str, redis_url: str) -> dict[str, str]:
    return common.environment(
        db_name=DB_NAME,
        redis_url=redis_url,
        port=PORT,
        queue="bench-webhooks",
        data_dir=data_dir,
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
    )


def add_endpoints(urls: list[str]) -> list[str]:
    """Endpoints subscribed to every event of every channel; their secrets."""
    from oncall.models import WebhookEndpoint

    secrets = []
    for index, url in enumerate(urls):
        endpoint = WebhookEndpoint(name=f"Bench {index}", url=url)
        endpoint.full_clean()
        endpoint.save()
        secrets.append(endpoint.secret)
    return secrets


def push_incidents(count: int) -> None:
    """``count`` firing alerts of distinct keys, 10 per push: one incident each."""
    path = ingest.seed(0)
    bodies = [
        common.alertmanager_body(
            [
                {
                    "status": "firing",
                    "labels": {"alertname": f"Deliver{n}", "instance": f"host-{n}", "job": "x"},
                    "annotations": {"summary": f"Delivery bench {n}"},
                    "startsAt": "2026-11-21T10:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": f"deliver-{n:06d}",
                }
                for n in range(start, min(start + 10, count))
            ]
        )
        for start in range(0, count, 10)
    ]
    latencies: list[float] = []
    errors: list[int] = []
    ingest.push_loop(path, bodies, None, latencies, errors, port=PORT)
    ingest.wait_processed()
    if errors:
        sys.exit(f"{len(errors)} pushes failed")


def wait_delivered(timeout: float = 900) -> float:
    from oncall.models import WebhookDelivery

    def delivered() -> bool:
        return not WebhookDelivery.objects.exclude(status="delivered").exists()

    failure = "deliveries were still pending after the timeout"
    return common.wait_until(delivered, failure, timeout=timeout, every=0.1)


def check_received(receiver, endpoints: int, deliveries: int) -> str:
    """Every event once per endpoint, each verified, sequences ascending per incident."""
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    ids = set()
    for request in receiver.received:
        if not request.verified_with:
            return "UNVERIFIED signature"
        event = request.event
        path = request.headers.get("X-Endpoint", "")
        ids.add((path, event["event_id"]))
        seen[(path, event["incident"]["incident_id"])].append(event["sequence"])
    if len(receiver.received) != deliveries or len(ids) != deliveries:
        return f"{len(receiver.received)} received, {len(ids)} distinct, {deliveries} expected"
    if any(seq != sorted(seq) for seq in seen.values()):
        return "OUT OF ORDER"
    return f"ok: {deliveries} verified, once each, in order ({endpoints} endpoints)"


def measure_deliveries(env: dict[str, str], args: argparse.Namespace, redis_url: str) -> list:
    from oncall.models import WebhookDelivery, WebhookEndpoint
    from tests.webhooks.receiver import Receiver

    common.reset_state(DB_NAME, redis_url)
    with Receiver() as receiver:
        secrets = add_endpoints([receiver.url] * args.endpoints)
        for index, endpoint in enumerate(WebhookEndpoint.objects.order_by("pk")):
            endpoint.headers = {"X-Endpoint": str(index)}
            endpoint.save()
        receiver.secrets = secrets
        with common.Servers(env, port=PORT, web_workers=2, task_workers=args.task_workers):
            push_incidents(args.incidents)
        deliveries = WebhookDelivery.objects.count()
        began = time.monotonic()
        with common.Servers(
            env, port=PORT, web_workers=1, task_workers=1, webhook_workers=args.webhook_workers
        ):
            done = wait_delivered()
        verdict = check_received(receiver, args.endpoints, deliveries)
    seconds = done - began
    return [
        f"{args.incidents:,} incidents x {args.endpoints} endpoints",
        f"{deliveries:,}",
        f"{seconds:.1f}",
        f"{deliveries / seconds:,.0f}",
        verdict,
    ]


def measure_ingestion(env: dict[str, str], args: argparse.Namespace, redis_url: str) -> list:
    """Ingestion with no endpoint, with one whose receiver answers at once, and with one whose
    receiver never answers: the outbox rows cost the first step, a dead receiver (its
    attempts waiting out their 15 s on the webhooks queue) should cost nothing more."""
    from tests.webhooks.receiver import Receiver

    results = []
    for label in ("no endpoint", "live receiver", "dead receiver"):
        common.reset_state(DB_NAME, redis_url)
        path = ingest.seed(0)
        with socket.create_server(("127.0.0.1", 0), backlog=4096) as blackhole, Receiver() as live:
            if label == "live receiver":
                live.secrets = add_endpoints([live.url])
            elif label == "dead receiver":
                add_endpoints([f"http://127.0.0.1:{blackhole.getsockname()[1]}/hooks"])
            with common.Servers(
                env,
                port=PORT,
                web_workers=args.web_workers,
                task_workers=args.task_workers,
                webhook_workers=args.webhook_workers if label != "no endpoint" else 0,
            ) as servers:
                paced = f"{args.rate:.0f} ev/s, {label}"
                flat = f"flat out, {label}"
                results.append(
                    ingest.run_phase(flat, path, args, rate=None, servers=servers, port=PORT)
                )
                results.append(
                    ingest.run_phase(paced, path, args, rate=args.rate, servers=servers, port=PORT)
                )
            if label != "no endpoint":
                results[-1].name += f" ({pending_summary()})"
    return results


def pending_summary() -> str:
    from oncall.models import WebhookAttempt, WebhookDelivery

    delivered = WebhookDelivery.objects.filter(status="delivered").count()
    return (
        f"{WebhookDelivery.objects.count():,} deliveries written, {delivered:,} delivered, "
        f"{WebhookAttempt.objects.count():,} attempts"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--webhook-workers", type=int, default=4)
    parser.add_argument("--task-workers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--parts", default="deliveries,ingestion")
    # The ingestion benchmark's knobs, small by default.
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--flat-batches", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--keys", type=int, default=2000)
    args = parser.parse_args()

    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    env = environment(tempfile.mkdtemp(prefix="oncall-bench-webhooks-"), redis_url)
    common.setup_django(env)
    common.stop_on_sigterm()
    parts = args.parts.split(",")
    if "deliveries" in parts:
        delivered = measure_deliveries(env, args, redis_url)
        print(
            f"\nDeliveries to a local receiver ({args.webhook_workers} webhook worker "
            f"processes, PostgreSQL + Redis, {os.cpu_count()} cores)"
        )
        header = ["events of", "deliveries", "seconds", "deliveries/s", "receiver check"]
        common.print_rows([header, delivered])
    if "ingestion" in parts:
        ingest.print_table(measure_ingestion(env, args, redis_url), args)


if __name__ == "__main__":
    main()
