"""Delivery benchmark: incident cards through one Feishu app, the sandbox enforcing Feishu's limits.

    python3 dev.py bench delivery [--incidents 200] [--recipients 10] [--rate 50] [--seconds 10]
                                  [--latency-users 50] [--people-per-incident 1] [--group]
                                  [--task-workers 4] [--card-workers 8]
                                  [--only fanout|latency] [--start-second 0-59]

Each measurement starts gunicorn (port 8766) and Celery workers on a fresh PostgreSQL database
(``oncall_bench_delivery``) with Redis database 13 as broker, cache and rate-limit store
(``BENCH_DELIVERY_PORT``, ``BENCH_DELIVERY_DB_NAME`` and ``BENCH_DELIVERY_REDIS_URL`` move them,
so that two checkouts can measure at once), and the
Feishu sandbox served by the console itself (``FEISHU_SANDBOX_ENABLED``); the console's Feishu
app has platform Sandbox, so its client calls ``http://127.0.0.1:<port>/sandbox/feishu``. The
sandbox answers as Feishu does past its limits (99991400 / HTTP 429 past 50/s or 1000/min of
sends per app, 230020 past 5/s per receiver) and records every call (``ApiCall``). Setup goes
through the ORM of this process: a sandbox app and its people, the console's app with the same
credentials, console users linked to those people, channels whose default escalation rule
notifies their members, and an Alertmanager source per channel.

1. **Fan-out**: ``--incidents`` distinct alerts pushed as fast as answers come (8 clients) to one
   channel of ``--recipients`` members: 200 x 10 = 2,000 cards through one app. It waits until
   every card delivery has sent what was asked (or failed), then prints the cards sent, the
   failures, the sandbox's 99991400 and 230020 answers, the time from the first push to the
   last card the sandbox accepted, the minimum that Feishu's limits allow, and their ratio.
   The issue's goal: no 99991400 at all, and a total within 10 % of the minimum.
2. **Latency**: ``--rate`` alerts per second for ``--seconds`` (500 incidents), round robin over
   channels whose members are ``--latency-users`` linked people, ``--people-per-incident`` in
   each channel (default 1: 50 channels of one person, each receiving 1 card per second, so
   that the 5/s per receiver does not dominate). ``--group`` adds to level 1 of each channel's
   rule a Feishu group chat of its own (in the sandbox with the channel's people and the app's
   bot, and known to the console as the app's chat), as a real rule notifies "two people and a
   group": a chat shared by all channels would receive every incident against the sandbox's
   5/s per chat. Each person and each group then receives ``rate x people-per-incident /
   latency-users`` cards per second: 0.4/s for the issue's ``--rate 10 --seconds 20
   --people-per-incident 2 --group``. For each incident, when the sandbox accepted
   (``SandboxMessage.created_at``) the first copy sent to each recipient (each delivery's first
   ``SentCard``): the time from sending its push to the **first** of them (the earliest card
   anyone saw: what the columns "p50 ms / p99 ms / max ms" of earlier runs measured, the same
   with one person per incident) and to the **last** of them, once all of level 1's cards
   (people + group) were accepted; p50, p99 and max of each. Under the table: how many
   incidents had all their copies, and a note when ``rate x copies`` passes the app's 50 sends
   a second or 1000 in a minute (10 incidents/s of three copies do after 33 s): then Feishu's
   limits, not the console, set the latency.

**The minimum time for N sends from one app.** The sandbox counts as Feishu's gateway does, over
sliding windows: at most 50 sends in any second and 1000 in any minute, wherever they start (the
console's limiter counts the same way). The fastest schedule sends the first 50 at the first
push ``t0``, and each later send as soon as the send 50 places before it is a second old and the
one 1000 places before it a minute old (``minimum_send_seconds``). For N = 2,000 that is 79 s
from any start second: 1000 sends in 20 s, then the second thousand from ``t0 + 60``. (Windows
aligned to the clock, which this benchmark and the console assumed before, put the minimum at
``79 - p`` for a start ``p`` seconds into its minute: 48 s at :31, a schedule the sandbox
refuses 1,000 sends of.) ``--start-second`` still chooses ``p``: the console must reach the
minimum from anywhere in a minute. Ten receivers at 5/s each allow 50/s as well, so the
per-receiver limit adds nothing when sends are spread evenly.

Under each table, a line says where the time went (the first card, the last incident's level 1,
cards in each minute from the first card, the busiest second) and one the CPU used by the web and
worker processes. Defaults: gunicorn 3 workers x 4 threads (it serves the pushes and the sandbox's
Open API), 4 Celery processes on the default queue (ingestion, escalation) and 8 on the cards queue
(card sends and updates, as a production deployment may dedicate workers to it, so that cards do
not wait behind a burst of ingestion tasks; a task of up to ten cards sleeps in its process, for up
to 2 s, when every card it has left waits for a rate-limit window). ``--card-workers 0`` runs one
worker on every queue.

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust) and Redis on 127.0.0.1:6379; it sends
traffic only to 127.0.0.1 and stops by itself (about three minutes), stopping its servers on
Ctrl-C or failure too. Not part of the test run; it asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Sends are one API (im.v1.message.create): the gateway's per-API limits are the send limits.
from integrations.feishu_sandbox.limits import (
    API_PER_MINUTE,
    API_PER_SECOND,
    FREQUENCY_LIMIT,
    RATE_LIMITED,
)
from tests.benchmarks import common

# Overridable so that two checkouts can measure at once (as ``BENCH_DB_NAME`` moves ``ingest``).
PORT = int(os.environ.get("BENCH_DELIVERY_PORT", "8766"))
DB_NAME = os.environ.get("BENCH_DELIVERY_DB_NAME", "oncall_bench_delivery")
REDIS_URL = os.environ.get("BENCH_DELIVERY_REDIS_URL", "redis://127.0.0.1:6379/13")
SEND_PATH = "/open-apis/im/v1/messages"
PUSH_CLIENTS = 8


def environment(data_dir: str) -> dict[str, str]:
    return common.sandbox_environment(
        db_name=DB_NAME, redis_url=REDIS_URL, port=PORT, queue="bench-delivery", data_dir=data_dir
    )


# --- The minimum Feishu's limits allow --------------------------------------------------------


def minimum_send_seconds(
    count: int,
    start: float,
    per_second: int = API_PER_SECOND,
    per_minute: int = API_PER_MINUTE,
) -> float:
    """Seconds from ``start`` until the ``count``-th send may go, with sliding one-second and
    one-minute windows (see the module docstring)."""
    sent: list[float] = []
    for n in range(count):
        at = start
        if n >= per_second:
            at = max(at, sent[n - per_second] + 1)
        if n >= per_minute:
            at = max(at, sent[n - per_minute] + 60)
        sent.append(at)
    return sent[-1] - start if sent else 0.0


# --- Setup ------------------------------------------------------------------------------------


@dataclass
class World:
    """What a measurement pushes to: one push path per channel, the app's App ID, and how many
    copies of a card each incident's level 1 sends (its people, and its group if any)."""

    push_paths: list[str]
    app_id: str
    copies_per_incident: int


def seed(channels: int, members_per_channel: int, *, group: bool = False) -> World:
    """A sandbox app and one person per console user, linked; ``channels`` channels of
    ``members_per_channel`` members each, with the default escalation rule (level 1 notifies
    the channel's members) and an Alertmanager source. ``group``: level 1 also notifies a
    Feishu group chat of the channel's own (its members and the app's bot in it), since a chat
    shared by every channel would receive the whole rate against Feishu's 5/s per chat."""
    from django.contrib.auth import get_user_model

    from integrations.feishu_sandbox.models import SandboxApp, SandboxUser
    from oncall.models import AlertSource, Channel
    from tests.feishu.sandbox.world import console_app_for, link

    sandbox_app = SandboxApp.objects.create(name="Bench app")
    console_app = console_app_for(sandbox_app)
    user_model = get_user_model()
    paths = []
    for c in range(channels):
        channel = Channel.objects.create(name=f"Bench {c}")
        people = []
        for m in range(members_per_channel):
            name = f"bench-{c}-{m}"
            person = SandboxUser.objects.create(name=name, email=f"{name}@example.com")
            user = user_model.objects.create_user(username=name, email=f"{name}@example.com")
            link(user, console_app, sandbox_app, person)
            channel.members.add(user)
            people.append(person)
        if group:
            add_group_to_first_level(channel, people, sandbox_app, console_app)
        source = AlertSource.objects.create(
            name=f"Bench {c} Alertmanager", kind="alertmanager", channel=channel
        )
        paths.append(f"/push/{source.token}")
    return World(paths, sandbox_app.app_id, members_per_channel + (1 if group else 0))


def add_group_to_first_level(
    channel: Any, people: list[Any], sandbox_app: Any, console_app: Any
) -> None:
    """A group chat in the sandbox (``people`` and the app's bot), known to the console as
    the app's ``FeishuChat`` (as a sync of the bot's chats records it), notified by level 1 of
    the channel's default rule (``FeishuChat.escalation_levels``, what the rule's level form
    and the API write)."""
    from integrations.feishu.models import FeishuChat
    from integrations.feishu_sandbox.models import SandboxChat

    name = f"{channel.name} on-call"
    sandbox_chat = SandboxChat.objects.create(name=name, owner=people[0] if people else None)
    sandbox_chat.members.add(*people)
    sandbox_chat.bots.add(sandbox_app)
    chat = FeishuChat.objects.create(app=console_app, chat_id=sandbox_chat.chat_id, name=name)
    first_level = channel.escalation_rules.get().levels.order_by("position").first()
    first_level.feishu_chats.add(chat)


def latency_channels(users: int, people_per_incident: int) -> int:
    """How many channels the latency phase spreads ``users`` people over, each channel's
    incidents notifying its ``people_per_incident`` members."""
    if people_per_incident < 1 or users < people_per_incident:
        raise ValueError(
            f"--latency-users ({users}) must be at least --people-per-incident "
            f"({people_per_incident}), which must be at least 1"
        )
    return users // people_per_incident


# --- Pushing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Push:
    fingerprint: str
    path: str
    due: float | None = None  # time.monotonic() to send at; None: as soon as possible


@dataclass
class Pushed:
    """Unix time at which each fingerprint's push was sent, and the pushes not answered 200."""

    sent_at: dict[str, float]
    errors: int

    @property
    def rate(self) -> float:
        """Pushes per second actually sent (a slow answer delays a client's next push)."""
        times = sorted(self.sent_at.values())
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return (len(times) - 1) / span if span else float("nan")


def push_all(pushes: list[Push], clients: int) -> Pushed:
    """Send ``pushes`` from ``clients`` threads, each taking every ``clients``-th push."""
    sent_at: dict[str, float] = {}
    errors: list[str] = []
    threads = [
        # Daemons: a Ctrl-C stops the servers at once instead of waiting for the last pushes.
        threading.Thread(target=_push_loop, args=(pushes[c::clients], sent_at, errors), daemon=True)
        for c in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Pushed(sent_at, len(errors))


def _push_loop(pushes: list[Push], sent_at: dict[str, float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection(common.HOST, PORT, timeout=30)
    for push in pushes:
        if push.due is not None:
            time.sleep(max(0.0, push.due - time.monotonic()))
        sent_at[push.fingerprint] = time.time()
        try:
            conn.request(
                "POST",
                push.path,
                body=common.firing_alert_body(push.fingerprint, "BenchDelivery"),
                headers={"Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(push.fingerprint)
        except OSError:
            conn.close()
            conn = http.client.HTTPConnection(common.HOST, PORT, timeout=30)
            errors.append(push.fingerprint)
    conn.close()


# --- Waiting and reading the outcome ----------------------------------------------------------


def undelivered() -> int:
    """Deliveries still owing a card: asked for, neither sent nor given up."""
    from django.db.models import F

    from integrations.feishu.models import CardDelivery

    unreachable = [CardDelivery.State.NOT_LINKED, CardDelivery.State.BOT_NOT_IN_CHAT]
    return (
        CardDelivery.objects.filter(sent__lt=F("requested")).exclude(state__in=unreachable).count()
    )


def wait_delivered(expected: int, timeout: float) -> int:
    """Wait until ``expected`` deliveries exist and none owes a card; returns how many deliveries
    are missing or still owing when the ``timeout`` ran out (0: all done)."""
    from integrations.feishu.models import CardDelivery

    deadline = time.monotonic() + timeout
    while True:
        missing = max(0, expected - CardDelivery.objects.count()) + undelivered()
        if missing == 0 or time.monotonic() > deadline:
            return missing
        time.sleep(0.2)


@dataclass(frozen=True)
class Answers:
    """The sandbox's answers to the app: how many carried each code (sends, tokens, card
    updates alike), and how many calls were sends."""

    codes: Counter
    sends: int


def sandbox_answers(app_id: str) -> Answers:
    from integrations.feishu_sandbox.models import ApiCall

    calls = ApiCall.objects.filter(app_id=app_id)
    return Answers(
        codes=Counter(calls.values_list("code", flat=True)),
        sends=calls.filter(method="POST", path=SEND_PATH).count(),
    )


def card_times(app_id: str) -> list[float]:
    """Unix times at which the sandbox accepted the app's cards, in order."""
    from integrations.feishu_sandbox.models import SandboxMessage

    stamps = SandboxMessage.objects.filter(app__app_id=app_id, msg_type="interactive")
    return sorted(at.timestamp() for at in stamps.values_list("created_at", flat=True))


def last_notified_at() -> float:
    """Unix time of the last escalation level run (its "notified" timeline entry)."""
    from django.db.models import Max

    from oncall.models import TimelineEntry

    last = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.NOTIFIED).aggregate(
        at=Max("created_at")
    )
    return last["at"].timestamp() if last["at"] else float("nan")


def failed_deliveries() -> int:
    from integrations.feishu.models import CardDelivery

    return CardDelivery.objects.exclude(state=CardDelivery.State.SENT).count()


# --- Fan-out ----------------------------------------------------------------------------------


@dataclass
class FanOut:
    cards: int
    failed: int
    owing: int
    push_errors: int
    answers: Answers
    first_push: float
    cards_at: list[float]
    last_level_run: float
    usage: common.Usage

    @property
    def total(self) -> float:
        return (self.cards_at[-1] - self.first_push) if self.cards_at else float("nan")

    def minimum(self, count: int) -> float:
        return minimum_send_seconds(count, self.first_push)

    def rows(self, count: int) -> list[list[str]]:
        header = [
            "cards",
            "sent",
            "failed",
            "owing",
            "99991400",
            "230020",
            "start :ss",
            "total s",
            "minimum s",
            "ratio",
            *common.cost_header("card"),
        ]
        minimum = self.minimum(count)
        row = [
            str(count),
            str(self.cards),
            str(self.failed),
            str(self.owing),
            str(self.answers.codes[RATE_LIMITED]),
            str(self.answers.codes[FREQUENCY_LIMIT]),
            f"{self.first_push % 60:.1f}",
            f"{self.total:.1f}",
            f"{minimum:.1f}",
            f"{self.total / minimum:.3f}" if minimum > 0 else "-",
            *self.usage.cost_cells(self.cards),
        ]
        return [header, row]

    def details(self) -> str:
        """Where the time went: the first card, cards in each minute from the first card (the
        sandbox's minute slides), the busiest second."""
        if not self.cards_at:
            return "no card was sent"
        per_minute = Counter(int((at - self.cards_at[0]) // 60) for at in self.cards_at)
        per_second = Counter(int(at) for at in self.cards_at)
        minutes = ", ".join(str(per_minute[m]) for m in sorted(per_minute))
        return (
            f"first card {self.cards_at[0] - self.first_push:.2f} s after the first push, "
            f"the last incident's level 1 ran after "
            f"{self.last_level_run - self.first_push:.2f} s; "
            f"cards in each minute from the first card: {minutes}; busiest second: "
            f"{max(per_second.values())}; send calls answered: {self.answers.sends}; "
            f"push errors: {self.push_errors}"
        )


def run_fan_out(env: dict[str, str], args: argparse.Namespace) -> FanOut:
    common.reset_state(DB_NAME, REDIS_URL, skip_checks=True)
    world = seed(channels=1, members_per_channel=args.recipients)
    expected = args.incidents * args.recipients
    with servers(env, args) as running:
        if args.start_second is not None:
            sleep_until_second(args.start_second)
        meter = common.CpuMeter(running)
        pushes = [Push(f"fan-{i:05d}", world.push_paths[0]) for i in range(args.incidents)]
        pushed = push_all(pushes, PUSH_CLIENTS)
        owing = wait_delivered(expected, args.timeout)
        usage = meter.read()
    cards_at = card_times(world.app_id)
    return FanOut(
        cards=len(cards_at),
        failed=failed_deliveries(),
        owing=owing,
        push_errors=pushed.errors,
        answers=sandbox_answers(world.app_id),
        first_push=min(pushed.sent_at.values()),
        cards_at=cards_at,
        last_level_run=last_notified_at(),
        usage=usage,
    )


def sleep_until_second(second: int) -> None:
    """Wait for the next time the clock shows ``second`` seconds into a minute: the console
    must reach the minimum wherever in a clock minute the fan-out starts."""
    time.sleep((second - time.time()) % 60)


# --- Latency ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """p50 (the median), p99 (nearest rank, ``common.percentile``) and max of milliseconds."""

    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        ordered = sorted(values)
        if not ordered:
            return cls(float("nan"), float("nan"), float("nan"))
        return cls(statistics.median(ordered), common.percentile(ordered, 0.99), ordered[-1])

    def cells(self) -> list[str]:
        values = (self.p50, self.p99, self.max)
        return ["-" if math.isnan(value) else f"{value:.0f}" for value in values]


@dataclass(frozen=True)
class IncidentCopies:
    """One incident's push (Unix time), and the Unix times at which the sandbox accepted the
    first copy of its card to each recipient (a person, or a group chat): level 1's copies."""

    pushed_at: float
    accepted_at: tuple[float, ...]


@dataclass(frozen=True)
class CopyLatencies:
    """Milliseconds from each push to its incident's first card, and to its last card of level
    1 for the incidents all of whose ``copies`` were accepted (``complete`` of them)."""

    first_ms: list[float]
    last_ms: list[float]

    @property
    def complete(self) -> int:
        return len(self.last_ms)


def copy_latencies(incidents: Iterable[IncidentCopies], copies: int) -> CopyLatencies:
    """The first copy counts as soon as one was accepted; the last only once every one of the
    ``copies`` was (an incident still missing a copy has no "last card" yet)."""
    first, last = [], []
    for incident in incidents:
        if not incident.accepted_at:
            continue
        first.append((min(incident.accepted_at) - incident.pushed_at) * 1000)
        if len(incident.accepted_at) >= copies:
            last.append((max(incident.accepted_at) - incident.pushed_at) * 1000)
    return CopyLatencies(first, last)


@dataclass
class Latency:
    alerts: int
    copies_per_incident: int
    cards: int
    failed: int
    owing: int
    pushed: Pushed
    answers: Answers
    latencies: CopyLatencies
    usage: common.Usage

    def rows(self, rate: float) -> list[list[str]]:
        """The first card's columns mean what "p50 ms / p99 ms / max ms" meant before the
        last card's were added: with one person per incident the two are the same."""
        header = ["alerts", "alerts/s", "cards", "failed", "owing", "99991400", "230020"]
        header += ["first p50 ms", "first p99 ms", "first max ms"]
        header += ["last p50 ms", "last p99 ms", "last max ms", *common.cost_header("card")]
        row = [
            str(self.alerts),
            f"{rate:g}",
            str(self.cards),
            str(self.failed),
            str(self.owing),
            str(self.answers.codes[RATE_LIMITED]),
            str(self.answers.codes[FREQUENCY_LIMIT]),
            *Spread.of(self.latencies.first_ms).cells(),
            *Spread.of(self.latencies.last_ms).cells(),
            *self.usage.cost_cells(self.cards),
        ]
        return [header, row]

    def details(self) -> str:
        return (
            f"level 1 complete ({self.copies_per_incident} cards accepted) for "
            f"{self.latencies.complete} of {self.alerts} incidents; pushes sent at "
            f"{self.pushed.rate:.1f}/s; push errors: {self.pushed.errors}"
        )


def run_latency(env: dict[str, str], args: argparse.Namespace) -> Latency:
    common.reset_state(DB_NAME, REDIS_URL, skip_checks=True)
    world = seed(
        channels=latency_channels(args.latency_users, args.people_per_incident),
        members_per_channel=args.people_per_incident,
        group=args.group,
    )
    count = int(args.rate * args.seconds)
    with servers(env, args) as running:
        meter = common.CpuMeter(running)
        begin = time.monotonic() + 0.5
        pushes = [
            Push(
                f"lat-{i:05d}",
                world.push_paths[i % len(world.push_paths)],
                due=begin + i / args.rate,
            )
            for i in range(count)
        ]
        pushed = push_all(pushes, PUSH_CLIENTS)
        owing = wait_delivered(count * world.copies_per_incident, args.timeout)
        usage = meter.read()
    return Latency(
        alerts=count,
        copies_per_incident=world.copies_per_incident,
        cards=len(card_times(world.app_id)),
        failed=failed_deliveries(),
        owing=owing,
        pushed=pushed,
        answers=sandbox_answers(world.app_id),
        latencies=copy_latencies(incident_copies(pushed.sent_at), world.copies_per_incident),
        usage=usage,
    )


def incident_copies(sent_at: dict[str, float]) -> list[IncidentCopies]:
    """For each pushed fingerprint, when the sandbox accepted each of its incident's
    deliveries' first copy (``SentCard``s are oldest first; a later one would be a new copy
    to the same recipient, not level 1's)."""
    from integrations.feishu.models import CardDelivery
    from integrations.feishu_sandbox.models import SandboxMessage
    from oncall.models import Alert

    incident_of = dict(
        Alert.objects.filter(alert_key__in=sent_at).values_list("alert_key", "incident_id")
    )
    first_messages: dict[int, list[str]] = {}
    sent = CardDelivery.objects.filter(sent__gt=0).prefetch_related("sent_messages")
    for delivery in sent:
        if delivery.message_ids:
            first_messages.setdefault(delivery.incident_id, []).append(delivery.message_ids[0])
    wanted = [message_id for ids in first_messages.values() for message_id in ids]
    accepted = dict(
        SandboxMessage.objects.filter(message_id__in=wanted).values_list("message_id", "created_at")
    )
    return [
        IncidentCopies(
            pushed_at,
            tuple(
                accepted[message_id].timestamp()
                for message_id in first_messages.get(incident_of.get(fingerprint, -1), [])
                if message_id in accepted
            ),
        )
        for fingerprint, pushed_at in sent_at.items()
    ]


# --- Running ----------------------------------------------------------------------------------


def servers(env: dict[str, str], args: argparse.Namespace) -> common.Servers:
    return common.Servers(
        env,
        port=PORT,
        web_workers=args.web_workers,
        task_workers=args.task_workers,
        card_workers=args.card_workers,
        threads=args.threads,
    )


def report(title: str, rows: list[list[str]], *notes: str) -> None:
    print(f"\n{title}")
    common.print_rows(rows)
    for note in notes:
        print(note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--recipients", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50, help="alerts per second (latency)")
    parser.add_argument("--seconds", type=float, default=10, help="how long (latency)")
    parser.add_argument(
        "--latency-users",
        type=int,
        default=50,
        help="people the latency incidents go to, in channels of --people-per-incident",
    )
    parser.add_argument(
        "--people-per-incident",
        type=int,
        default=1,
        help="linked people each latency incident notifies (its channel's members)",
    )
    parser.add_argument(
        "--group",
        action="store_true",
        help="level 1 also notifies a Feishu group chat (one per channel)",
    )
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="per gunicorn worker")
    parser.add_argument(
        "--task-workers", type=int, default=4, help="Celery processes on the default queue"
    )
    parser.add_argument(
        "--card-workers",
        type=int,
        default=8,
        help="Celery processes on the cards queue (0: the task workers take every queue)",
    )
    parser.add_argument(
        "--timeout", type=float, default=130, help="seconds to wait for the cards of a phase"
    )
    parser.add_argument("--only", choices=["fanout", "latency"])
    parser.add_argument(
        "--start-second",
        type=int,
        choices=range(60),
        metavar="0-59",
        help="start the fan-out at this second of a minute (default: at once)",
    )
    args = parser.parse_args()
    try:
        latency_channels(args.latency_users, args.people_per_incident)
    except ValueError as error:
        parser.error(str(error))

    env = environment(tempfile.mkdtemp(prefix="oncall-bench-delivery-"))
    common.setup_django(env)
    common.stop_on_sigterm()
    print(
        f"{args.web_workers} gunicorn workers x {args.threads} threads (console and sandbox), "
        f"{args.task_workers} Celery workers + {args.card_workers} on the cards queue, "
        f"PostgreSQL + Redis, {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.2f} at the start)"
    )
    if args.only in (None, "fanout"):
        print_fan_out(run_fan_out(env, args), args)
    if args.only in (None, "latency"):
        print_latency(run_latency(env, args), args)


def print_fan_out(result: FanOut, args: argparse.Namespace) -> None:
    count = args.incidents * args.recipients
    report(
        f"Fan-out: {args.incidents} incidents x {args.recipients} recipients through one app "
        f"(minimum: {API_PER_SECOND}/s and {API_PER_MINUTE}/min, fixed windows)",
        result.rows(count),
        result.details(),
        result.usage.describe("while it ran", result.cards, "card"),
    )


def print_latency(result: Latency, args: argparse.Namespace) -> None:
    channels = latency_channels(args.latency_users, args.people_per_incident)
    people = "person" if args.people_per_incident == 1 else "people"
    group = " and their channel's group chat" if args.group else ""
    report(
        f"Latency: alert to first and to last card of level 1, {args.rate:g} alerts/s for "
        f"{args.seconds:g} s, {args.people_per_incident} linked {people}{group} per incident "
        f"({channels} channels, round robin)",
        result.rows(args.rate),
        *send_limit_warnings(args.rate * result.copies_per_incident, args.seconds),
        result.details(),
        result.usage.describe("while it ran", result.cards, "card"),
    )


def send_limit_warnings(sends_per_second: float, seconds: float) -> list[str]:
    """Say so when the app's own limits, rather than the console, must delay cards: then the
    latencies measure Feishu's limits."""
    in_a_minute = sends_per_second * min(seconds, 60)
    warnings = []
    if sends_per_second > API_PER_SECOND:
        warnings.append(f"note: {sends_per_second:g} cards/s exceed the app's {API_PER_SECOND}/s")
    if in_a_minute > API_PER_MINUTE:
        warnings.append(
            f"note: {in_a_minute:g} cards in a minute exceed the app's {API_PER_MINUTE}/min"
        )
    return warnings


if __name__ == "__main__":
    main()
