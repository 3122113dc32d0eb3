"""Insights benchmark: the insights page and API over a channel with a year of incidents.

    python3 dev.py bench insights [--incidents 100000] [--requests 30]
                                  [--database oncall_bench_insights]
                                  [--explain] [--verbose-plans]

Recreates the PostgreSQL database ``--database`` (dropped and created again), then seeds one
channel of 8 members with ``--incidents`` incidents spread evenly over the last 365 days, in
SQL (``generate_series``, a few seconds for 100,000): one to three alerts each (400 distinct
alert keys from 3 sources), and per incident a ``created`` entry, a ``notified`` entry naming
two members, a claim for six in seven of them and a close for nine in ten. Then, in this
process, with Django's test client signed in as a member (no server: the time is the view's,
from the request to the whole answer), it asks ``--requests`` times each for the page with the
30-day and 90-day presets and a 365-day custom period, the API for 365 days and one CSV file,
and prints p50 / p99 / max per request. ``--explain`` first prints, for the last 30 and 365
days, the root of PostgreSQL's plan (EXPLAIN ANALYZE: estimated cost, actual time) of every
query the figures run (``--verbose-plans``: whole plans).

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust). Not part of the test run; it asserts
nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from tests.benchmarks import common

DB_NAME = "oncall_bench_insights"
MEMBERS = 8
DAYS = 365


def seed(incidents: int) -> tuple[Any, Any]:
    """The channel and a member to sign in as, with ``incidents`` incidents over DAYS days."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from oncall.models import AlertSource, Channel, Counter

    users = [
        get_user_model().objects.create_user(f"responder{n}", first_name=f"Responder {n}")
        for n in range(MEMBERS)
    ]
    channel = Channel.objects.create(name="Databases")
    channel.members.set(users)
    sources = [
        AlertSource.objects.create(name=f"Prometheus {n}", kind="alertmanager", channel=channel)
        for n in range(3)
    ]
    until = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            SEED_INCIDENTS,
            {
                "n": incidents,
                "channel": channel.pk,
                "until": until,
                "days": DAYS,
                "users": [u.pk for u in users],
            },
        )
        cursor.execute(SEED_ALERTS, {"channel": channel.pk, "sources": [s.pk for s in sources]})
        cursor.execute(SEED_TIMELINE, {"channel": channel.pk, "users": [u.pk for u in users]})
        cursor.execute("ANALYZE")
    Counter.objects.update_or_create(name="incident", defaults={"value": incidents})
    return channel, users[0]


SEED_INCIDENTS = """
INSERT INTO oncall_incident (
    public_id, number, channel_id, title, severity, status, group_key, claimed_by_id,
    claimed_at, first_claimed_at, acknowledged_by_source, closed_by_id, closed_at, alert_count,
    last_alert_at, created_at, updated_at, escalation_level, escalation_repeats,
    escalation_loops)
SELECT gen_random_uuid(), i, %(channel)s, 'Check ' || (i %% 400) || ' failing',
    (ARRAY['critical', 'warning', 'info'])[1 + i %% 3],
    CASE WHEN i %% 10 <> 0 THEN 'closed' WHEN i %% 7 <> 0 THEN 'acknowledged'
         ELSE 'triggered' END,
    'bench-' || i,
    CASE WHEN i %% 10 = 0 AND i %% 7 <> 0 THEN (%(users)s::bigint[])[1 + i %% 8] END,
    CASE WHEN i %% 10 = 0 AND i %% 7 <> 0 THEN t + make_interval(secs => (i * 37) %% 900) END,
    CASE WHEN i %% 7 <> 0 THEN t + make_interval(secs => (i * 37) %% 900) END,
    '', NULL,
    CASE WHEN i %% 10 <> 0 THEN t + make_interval(secs => 600 + (i * 53) %% 7200) END,
    1 + i %% 3, t, t, t, 0, 0, 0
FROM generate_series(1, %(n)s) AS i,
     LATERAL (SELECT %(until)s - make_interval(days => %(days)s) * i / %(n)s AS t) AS opened
"""

SEED_ALERTS = """
INSERT INTO oncall_alert (
    public_id, channel_id, source_id, incident_id, alert_key, title, description, severity,
    raw_severity, status, labels, links, images, first_seen, last_seen, resolved_at,
    event_count)
SELECT gen_random_uuid(), %(channel)s, (%(sources)s::bigint[])[k], incident.id,
    'check-' || ((incident.number * 7 + k) %% 400),
    'Check ' || ((incident.number * 7 + k) %% 400) || ' failing', '', incident.severity, '',
    CASE WHEN incident.status = 'closed' THEN 'resolved' ELSE 'firing' END,
    '{}', '[]', '[]', incident.created_at, incident.created_at, incident.closed_at,
    1 + (incident.number * k) %% 5
FROM oncall_incident AS incident, generate_series(1, 3) AS k
WHERE incident.channel_id = %(channel)s AND k <= incident.alert_count
"""

SEED_TIMELINE = """
INSERT INTO oncall_timelineentry (incident_id, kind, actor_id, source, message, data, created_at)
SELECT incident.id, entry.kind, entry.actor, entry.source, entry.message, entry.data, entry.at
FROM oncall_incident AS incident,
     LATERAL (SELECT (%(users)s::bigint[])[1 + incident.number %% 8] AS first,
                     (%(users)s::bigint[])[1 + (incident.number + 1) %% 8] AS second) AS who,
     LATERAL (VALUES
        ('created', NULL::bigint, 'integration', 'Opened', '{}'::jsonb, incident.created_at),
        ('notified', NULL, 'system', 'Level 1: notified two people.',
         jsonb_build_object('level', 1, 'notified', jsonb_build_array('a', 'b'),
                            'notified_users', jsonb_build_array(who.first, who.second),
                            'unreachable', '[]'::jsonb),
         incident.created_at),
        ('claimed', who.first, 'web', 'Claimed', '{}', incident.first_claimed_at),
        ('closed', NULL, 'system', 'Closed', '{}', incident.closed_at)
     ) AS entry(kind, actor, source, message, data, at)
WHERE incident.channel_id = %(channel)s AND entry.at IS NOT NULL
"""


def measure(client: Any, url: str, requests: int) -> list[float]:
    """Seconds per answer, the first (warm-up) left out; every answer must be a 200."""
    client.get(url)
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return sorted(times)


def explain(channel: Any, days: int, verbose: bool) -> None:
    """EXPLAIN ANALYZE of each query the figures of the last ``days`` days run: the plan's
    root (estimated cost, actual time) per query, or whole plans with ``verbose``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from oncall.insights.figures import Night, Scope, compute
    from oncall.insights.period import days_period

    today = timezone.localdate()
    period = days_period(today - timedelta(days=days - 1), today, timezone.get_current_timezone())
    scope = Scope([channel.pk], period, timedelta(minutes=5), Night(22, 8))
    with CaptureQueriesContext(connection) as captured:
        compute(scope)
    print(f"\nquery plans, last {days} days")
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN ANALYZE " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            print(f"\n{sql[:110]}...")
            print("  " + "\n  ".join(plan if verbose else [plan[0], plan[-1]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database", default=DB_NAME)
    parser.add_argument("--explain", action="store_true", help="the queries' plans first")
    parser.add_argument("--verbose-plans", action="store_true", help="whole plans")
    args = parser.parse_args()

    env = common.environment(
        db_name=args.database,
        redis_url="redis://127.0.0.1:6379/15",
        port=0,
        queue="bench-insights",
        data_dir=tempfile.mkdtemp(prefix="oncall-bench-"),
        # Files, not Redis: nothing here needs a shared cache or broker.
        CELERY_BROKER_URL="filesystem://",
    )
    common.setup_django(env)
    from django.db import connections

    connections.close_all()
    common.recreate_database(args.database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    channel, member = seed(args.incidents)
    seeded = time.perf_counter() - began
    if args.explain:
        for days in (30, DAYS):
            explain(channel, days, args.verbose_plans)
    run(channel, member, args, seeded)


def run(channel: Any, member: Any, args: argparse.Namespace, seeded: float) -> None:
    from django.test import Client
    from django.utils import timezone

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(member)
    today = timezone.localdate()
    year = f"since={today - timedelta(days=DAYS - 1)}&until={today}"
    urls = [
        ("page, last 30 days", "/insights/?period=30d"),
        ("page, last 90 days", "/insights/?period=90d"),
        ("page, 365 days", f"/insights/?period=custom&{year}"),
        ("API, 365 days", f"/api/v1/insights/?{year}"),
        ("CSV responders, 365 days", f"/insights/export/responders.csv?period=custom&{year}"),
    ]
    rows = [["request", "p50 (ms)", "p99 (ms)", "max (ms)"]]
    for label, url in urls:
        times = measure(client, url, args.requests)
        rows.append(
            [
                label,
                f"{statistics.median(times) * 1000:.0f}",
                f"{common.percentile(times, 0.99) * 1000:.0f}",
                f"{times[-1] * 1000:.0f}",
            ]
        )
    print(
        f"\none channel, {args.incidents} incidents over {DAYS} days (seeded in {seeded:.1f} s);"
        f" {args.requests} requests each, signed in as a member, PostgreSQL"
    )
    common.print_rows(rows)


if __name__ == "__main__":
    main()
