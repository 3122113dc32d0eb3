"""Notification templates: how long rendering a Feishu card takes, with the built-in body and
with a custom template, for an ordinary incident and one whose first alert has 200 labels.

Renders in this process (no servers) on the embedded SQLite in a temporary directory; each
case renders the whole card (``incident_card``: fields, notes, changes, body, fitting) and,
apart, only the body (``render_for``: the template engine), ``--rounds`` times, and prints the
median and p95 per render.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from tests.benchmarks import common

CUSTOM = """\
**{{ Title }}** ({{ IncidentSeverity }}, {{ AlertCnt }} alerts) since {{ date("15:04", StartTime) }}
{% if Labels.resource %}resource: {{ joinAlertLabels(root, "resource", ", ") }}{% endif %}
{% for k, v in Labels|dictsort if k not in ["resource", "body_text"] %}
- {{ k }} = {{ clip(v, 80) }}
{% endfor %}
[runbook]({{ DetailUrl }})
"""


def seed(labels: int):
    from django.utils import timezone

    from oncall.models import Alert, Channel, Incident

    channel = Channel.objects.create(name=f"Bench {labels}")
    now = timezone.now()
    incident = Incident.objects.create(
        number=labels + 1,
        channel=channel,
        title="Disk 95% full on db-1",
        severity="critical",
        group_key=f"bench-{labels}",
        alert_count=3,
    )
    for n in range(3):
        Alert.objects.create(
            channel=channel,
            incident=incident,
            alert_key=f"k{labels}-{n}",
            title="Disk full",
            description="The disk <is> almost full " * 5,
            severity="critical",
            labels={
                "resource": f"db-{n}",
                **{f"label{i:03d}": f"value {i}" for i in range(labels)},
            },
            first_seen=now,
            last_seen=now,
        )
    return incident


def timed(action: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), common.percentile(samples, 0.95)


def measure(rounds: int) -> list[list[str]]:
    from integrations.feishu.cards.body import FEISHU_CARD
    from integrations.feishu.cards.render import incident_card
    from oncall.models import NotificationTemplate
    from oncall.notify.choose import render_for

    custom = NotificationTemplate.objects.create(name="Bench", bodies={"feishu_card": CUSTOM})
    rows = [["template", "labels", "card p50 ms", "card p95 ms", "body p50 ms", "body p95 ms"]]
    for labels in (5, 200):
        incident = seed(labels)
        for name, template in (("built-in", None), ("custom", custom)):
            incident.channel.notification_template = template
            incident.channel.save()
            card = timed(lambda shown=incident: incident_card(shown), rounds)
            body = timed(lambda shown=incident: render_for(shown, FEISHU_CARD), rounds)
            rows.append([name, str(labels), *(f"{value:.2f}" for value in (*card, *body))])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="oncall-bench-")
    env = common.environment(
        db_name="unused", redis_url="", port=8000, queue="bench-templates", data_dir=data_dir
    )
    for name in ("CELERY_BROKER_URL", "CELERY_QUEUE", "DATABASE_URL"):
        env.pop(name)
        os.environ.pop(name, None)
    common.setup_django(env)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rows = measure(args.rounds)
    print(f"\nFeishu card rendering, SQLite, one process, {args.rounds} renders per row")
    common.print_rows(rows)


if __name__ == "__main__":
    main()
