"""On-call schedules: how long resolving who is on call and drawing a schedule's page take.

Seeds ``--schedules`` schedules (200) of ``--layers`` layers (5) each, in three time zones,
with mixed turn lengths (8 and 12 hours, 1 and 3 days, 1 week), restrictions (business hours,
nights across midnight, weekends) and overrides over the next two weeks; then measures, in
this process (no web server: what is measured is the console's own work, queries included):

* ``resolve.responders`` for all the schedules at once (``--rounds`` times);
* ``resolve.responder`` for one schedule (each schedule once), and the same asking for the
  person only (``whole=False``: what an escalation level asks), one and all at once;
* the schedule page (``/schedules/<id>/``, two weeks drawn) for each schedule, through
  Django's request handling (middleware, session, template);
* the list page (``/schedules/``, who is on call now and next for all of them).

On PostgreSQL (``--database``, recreated) by default; ``--sqlite`` uses the embedded default
in a temporary directory instead.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from datetime import time as clock

from tests.benchmarks import common

DB_NAME = "oncall_bench_schedules"
ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York")
# (every, unit, restrictions) per layer, lowest first: a varied but realistic stack.
LAYER_KINDS = (
    (1, "weeks", []),
    (12, "hours", []),
    (1, "days", [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]),
    (3, "days", [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "06:00"}]),
    (8, "hours", [{"days": [5, 6], "start": "00:00", "end": "00:00"}]),
)
PEOPLE = 60
OVERRIDES_PER_SCHEDULE = 2


def seed(schedules: int, layers: int) -> list:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from oncall.models import LayerParticipant, Schedule, ScheduleLayer, ScheduleOverride

    rng = random.Random(23)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"person{n:03d}", first_name=f"Person {n}") for n in range(PEOPLE)
    )
    made = Schedule.objects.bulk_create(
        Schedule(name=f"Schedule {n:03d}", time_zone=ZONES[n % len(ZONES)])
        for n in range(schedules)
    )
    rows = []
    for schedule in made:
        for position in range(layers):
            every, unit, restrictions = LAYER_KINDS[position % len(LAYER_KINDS)]
            rows.append(
                ScheduleLayer(
                    schedule=schedule,
                    position=position,
                    name=f"Layer {position}",
                    start_date=date(2026, 1, 1) + timedelta(days=rng.randrange(60)),
                    handoff_time=clock(rng.choice((0, 8, 9, 18))),
                    rotation_every=every,
                    rotation_unit=unit,
                    restrictions=restrictions,
                )
            )
    ScheduleLayer.objects.bulk_create(rows)
    LayerParticipant.objects.bulk_create(
        LayerParticipant(layer=layer, user=user, position=turn)
        for layer in ScheduleLayer.objects.all()
        for turn, user in enumerate(rng.sample(users, rng.randrange(3, 7)))
    )
    now = timezone.now()
    ScheduleOverride.objects.bulk_create(
        ScheduleOverride(
            schedule=schedule,
            user=rng.choice(users),
            start=now + timedelta(days=3 * n + 1, hours=rng.randrange(24)),
            end=now + timedelta(days=3 * n + 2, hours=rng.randrange(24)),
        )
        for schedule in made
        for n in range(OVERRIDES_PER_SCHEDULE)
    )
    return made


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """Milliseconds of wall-clock time and of this process's CPU (less disturbed by other
    work on the machine; the database server's time is not in it)."""
    began, began_cpu = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - began) * 1000, (time.process_time() - began_cpu) * 1000


def measure(schedules: list, rounds: int) -> list[list[str]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from oncall.schedules import resolve

    viewer = get_user_model().objects.create_user("viewer")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer)

    def page(path: str) -> Callable[[], None]:
        def get() -> None:
            answer = client.get(path, secure=True)
            assert answer.status_code == 200, answer.status_code

        return get

    def queries(call: Callable[[], object]) -> int:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            call()
        return len(captured)

    def all_at_once() -> None:
        resolve.responders(schedules, timezone.now())

    def all_people_only() -> None:
        resolve.responders(schedules, timezone.now(), whole=False)

    timed(all_at_once)  # warm-up: imports, the zone files, the connection
    measured = {
        "resolve.responders, all schedules": (
            [timed(all_at_once) for _ in range(rounds)],
            queries(all_at_once),
        ),
        "resolve.responder, one schedule": (
            [timed(lambda s=s: resolve.responder(s, timezone.now())) for s in schedules],
            queries(lambda: resolve.responder(schedules[0], timezone.now())),
        ),
        "person only (escalation), all": (
            [timed(all_people_only) for _ in range(rounds)],
            queries(all_people_only),
        ),
        "person only (escalation), one": (
            [
                timed(lambda s=s: resolve.responder(s, timezone.now(), whole=False))
                for s in schedules
            ],
            queries(lambda: resolve.responder(schedules[0], timezone.now(), whole=False)),
        ),
        "schedule page (two weeks drawn)": (
            [timed(page(f"/schedules/{s.public_id}/")) for s in schedules],
            queries(page(f"/schedules/{schedules[0].public_id}/")),
        ),
        "list page (all, now and next)": (
            [timed(page("/schedules/")) for _ in range(rounds)],
            queries(page("/schedules/")),
        ),
    }
    rows = [["measure", "runs", "p50 (ms)", "p99 (ms)", "max (ms)", "CPU p50 (ms)", "queries"]]
    for name, (times, count) in measured.items():
        ordered = sorted(wall for wall, _ in times)
        cpu = sorted(used for _, used in times)
        rows.append(
            [
                name,
                str(len(ordered)),
                f"{statistics.median(ordered):.1f}",
                f"{common.percentile(ordered, 0.99):.1f}",
                f"{ordered[-1]:.1f}",
                f"{statistics.median(cpu):.1f}",
                str(count),
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database", default=DB_NAME, help="PostgreSQL database (recreated)")
    parser.add_argument("--sqlite", action="store_true", help="the embedded SQLite instead")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="oncall-bench-")
    env = common.environment(
        db_name=args.database,
        redis_url="",
        port=8000,
        queue="bench-schedules",
        data_dir=data_dir,
    )
    # Nothing is enqueued here: no broker. SQLite: the embedded default under DATA_DIR.
    for name in ("CELERY_BROKER_URL", "CELERY_QUEUE", *(["DATABASE_URL"] if args.sqlite else [])):
        env.pop(name)
        os.environ.pop(name, None)
    common.setup_django(env)
    from django.core.management import call_command

    if not args.sqlite:
        common.recreate_database(args.database)
    call_command("migrate", verbosity=0)
    schedules = seed(args.schedules, args.layers)
    rows = measure(schedules, args.rounds)
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"\n{args.schedules} schedules x {args.layers} layers ({len(ZONES)} zones, mixed turns, "
        f"restrictions, {OVERRIDES_PER_SCHEDULE} overrides each), {database}, one process"
    )
    common.print_rows(rows)


if __name__ == "__main__":
    main()
