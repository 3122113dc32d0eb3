"""Card deliveries against the sandbox: sending once, "app not linked", the bot not in a chat,
5xx and 429 answers, and every copy of a card updated after a change."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.feishu import tasks
from integrations.feishu.cards import delivery, render_cache
from integrations.feishu.cards.render import incident_card
from integrations.feishu.client import errors
from integrations.feishu.models import CardDelivery, FeishuChat, LinkedAccount, SentCard
from integrations.feishu_sandbox.models import Fault, SandboxMessage
from oncall import lifecycle
from oncall.models import TimelineEntry
from oncall.timeline import Actor
from tests.clocks import FakeClock
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link
from tests.renders import count_renders

State = CardDelivery.State


@pytest.fixture
def people(console_app, sandbox_app, sandbox_people):
    """Console users alice and bob, linked to their sandbox identities; carol not linked."""
    users = {}
    for key in ("alice", "bob", "carol"):
        users[key] = UserFactory(username=key, first_name=key.title())
    for key in ("alice", "bob"):
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    return users


@pytest.fixture
def incident(people):
    channel = ChannelFactory()
    channel.members.add(*people.values())
    return IncidentFactory(channel=channel, title="Disk full on db-1")


@pytest.fixture
def group(console_app, sandbox_chat):
    return FeishuChat.objects.create(
        app=console_app, chat_id=sandbox_chat.chat_id, name=sandbox_chat.name
    )


def send_all(incident, app, users=(), chats=()):
    # Live-server tests commit for real: the send tasks run (eagerly) when notify commits.
    return delivery.notify(incident, app, list(users), list(chats))


def owed_card(incident, app, user) -> CardDelivery:
    """A delivery asked for and not sent yet (what ``notify`` leaves for the send task)."""
    return CardDelivery.objects.create(incident=incident, app=app, user=user, requested=1)


def posted_but_not_recorded(row: CardDelivery, user) -> None:
    """Feishu took ``row``'s first card (its uuid) and the worker died before writing it down."""
    row.app.client().send_message(
        "open_id",
        LinkedAccount.objects.get(user=user, app=row.app).open_id,
        incident_card(row.incident),
        f"oncall-{row.pk}-1",
    )


def cards_of(sandbox_person) -> list[SandboxMessage]:
    return list(SandboxMessage.objects.filter(user=sandbox_person, msg_type="interactive"))


def test_cards_reach_linked_people_and_a_chat_once(
    console_app,
    incident,
    people,
    group,
    sandbox_people,
    sandbox_chat,
):
    send_all(
        incident,
        console_app,
        [people["alice"], people["bob"]],
        [group],
    )
    for key in ("alice", "bob"):
        (card,) = cards_of(sandbox_people[key])
        assert "Disk full on db-1" in card.content
    assert SandboxMessage.objects.filter(chat=sandbox_chat).count() == 1
    deliveries = CardDelivery.objects.filter(incident=incident)
    assert {d.state for d in deliveries} == {State.SENT}
    for d in deliveries:
        tasks.send_cards([d.pk])  # a redelivered task sends nothing more
    assert SandboxMessage.objects.filter(msg_type="interactive").count() == 3


def test_a_repeat_posts_a_second_card_to_the_same_row(
    console_app, incident, people, sandbox_people
):
    for _ in range(2):
        send_all(incident, console_app, [people["alice"]])
    row = CardDelivery.objects.get(incident=incident, user=people["alice"])
    assert (row.requested, row.sent, len(row.message_ids)) == (2, 2, 2)
    assert len(cards_of(sandbox_people["alice"])) == 2


def test_a_send_interrupted_before_it_was_recorded_does_not_post_twice(
    console_app, incident, people, sandbox_people
):
    row = owed_card(incident, console_app, people["alice"])
    # The worker sent the card and died before writing it down: the same uuid is sent again.
    posted_but_not_recorded(row, people["alice"])
    tasks.send_cards([row.pk])
    assert len(cards_of(sandbox_people["alice"])) == 1
    row.refresh_from_db()
    assert row.sent == 1


def test_a_person_without_a_linked_account_is_recorded_as_app_not_linked(
    console_app, incident, people
):
    report = send_all(incident, console_app, [people["carol"]])
    assert report.unreachable == ["Carol"]
    row = CardDelivery.objects.get(incident=incident, user=people["carol"])
    assert row.state == State.NOT_LINKED
    entry = incident.timeline.get(kind=TimelineEntry.Kind.DELIVERY_FAILED)
    assert entry.message.startswith("App not linked: Carol")
    assert console_app.web_url in entry.message
    # Asked again at the next level: still not linked, and the timeline says it once.
    send_all(incident, console_app, [people["carol"]])
    assert incident.timeline.filter(kind=TimelineEntry.Kind.DELIVERY_FAILED).count() == 1


def test_a_chat_the_bot_left_is_recorded_and_marked(
    console_app, sandbox_app, incident, group, sandbox_chat
):
    sandbox_chat.bots.remove(sandbox_app)  # the console has not heard of it yet
    send_all(incident, console_app, [], [group])
    row = CardDelivery.objects.get(incident=incident, chat=group)
    assert row.state == State.BOT_NOT_IN_CHAT
    group.refresh_from_db()
    assert group.status == FeishuChat.Status.BOT_REMOVED
    assert "230002" in incident.timeline.get(kind=TimelineEntry.Kind.DELIVERY_FAILED).message


def test_a_host_the_outbound_guard_refuses_fails_the_card_at_once_and_says_why(
    console_app, incident, people, sandbox_people, settings, no_limiter
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # the sandbox on loopback is no longer allowed
    row = owed_card(incident, console_app, people["alice"])

    assert delivery.send_many([row.pk], sleep=pytest.fail) == delivery.Later()

    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.FAILED, 0)  # permanent: no retries
    assert "points at a loopback address" in row.last_error
    failure = incident.timeline.get(kind=TimelineEntry.Kind.DELIVERY_FAILED).message
    assert "the console does not call such addresses" in failure
    assert cards_of(sandbox_people["alice"]) == []


def test_5xx_and_429_answers_are_retried_and_the_card_arrives_once(
    console_app, incident, people, sandbox_people, no_limiter
):
    Fault.objects.create(path_prefix="/open-apis/im/v1/messages", status=503, remaining=2)
    Fault.objects.create(
        path_prefix="/open-apis/im/v1/messages", status=429, retry_after=7, remaining=1
    )
    row = owed_card(incident, console_app, people["alice"])
    tries = [delivery.send_many([row.pk], sleep=pytest.fail) for _ in range(4)]
    assert tries == [
        delivery.Later(backoffs={row.pk: 2.0}),  # backoff
        delivery.Later(backoffs={row.pk: 4.0}),  # backoff
        delivery.Later(windows={row.pk: pytest.approx(7.0, abs=0.1)}),  # Feishu's reset header
        delivery.Later(),
    ]
    assert len(cards_of(sandbox_people["alice"])) == 1
    row.refresh_from_db()
    assert (row.state, row.sent, row.attempts) == (State.SENT, 1, 0)


def test_transient_failures_end_after_the_last_attempt(console_app, incident, people):
    Fault.objects.create(path_prefix="/open-apis/im/v1/messages", status=500, remaining=100)
    row = owed_card(incident, console_app, people["alice"])
    for _ in range(delivery.MAX_SEND_ATTEMPTS - 1):
        assert row.pk in delivery.send_many([row.pk]).backoffs
    # The last attempt records the failure instead of asking for another.
    assert delivery.send_many([row.pk]) == delivery.Later()
    row.refresh_from_db()
    assert row.state == State.FAILED
    assert row.attempts == delivery.MAX_SEND_ATTEMPTS
    assert "after 8 attempts" in incident.timeline.get(kind="delivery_failed").message


def test_every_copy_is_updated_after_a_claim_and_an_unchanged_card_is_not(
    console_app, incident, people, group, sandbox_chat
):
    send_all(
        incident,
        console_app,
        [people["alice"], people["bob"]],
        [group],
    )
    # The claim's announcement schedules the sync (run at once here: tasks are eager).
    lifecycle.claim(incident, Actor(people["bob"], "api"))
    copies = SandboxMessage.objects.filter(msg_type="interactive")
    assert [c.update_count for c in copies] == [1, 1, 1]
    for copy in copies:
        assert "Claimed by Bob" in json.dumps(json.loads(copy.content))
    assert delivery.sync(incident.pk) == 0  # nothing changed since


def test_a_send_records_the_message_and_the_card_it_shows(console_app, incident, people):
    send_all(incident, console_app, [people["alice"]])
    row = CardDelivery.objects.get(incident=incident)
    (sent,) = row.sent_messages.all()
    (card,) = SandboxMessage.objects.filter(msg_type="interactive")
    assert sent.message_id == card.message_id
    shown = render_cache.current(incident.pk, load=lambda: incident, app=console_app)
    assert sent.fingerprint == shown.fingerprint
    assert sent.sent_at == sent.updated_at
    assert row.updated_at - timedelta(seconds=1) < sent.sent_at <= row.updated_at


def test_a_sync_records_each_copy_it_patched(console_app, incident, people, group):
    send_all(incident, console_app, [people["alice"]], [group])
    sent_at = {s.message_id: s.sent_at for s in SentCard.objects.all()}
    lifecycle.claim(incident, Actor(people["bob"], "api"))  # syncs (eager tasks)
    current = render_cache.current(incident.pk, load=lambda: incident, app=console_app)
    for copy in SentCard.objects.all():
        assert copy.fingerprint == current.fingerprint
        assert copy.updated_at > copy.sent_at == sent_at[copy.message_id]


def test_a_sync_retried_after_a_failure_patches_only_the_copies_left(
    console_app, incident, people, group, monkeypatch
):
    send_all(incident, console_app, [people["alice"]], [group])
    monkeypatch.setattr(tasks.sync_cards, "apply_async", lambda *a, **k: None)
    lifecycle.claim(incident, Actor(people["bob"], "api"))
    first, second = SentCard.objects.order_by("delivery_id")
    Fault.objects.create(
        path_prefix=f"/open-apis/im/v1/messages/{second.message_id}", status=503, remaining=1
    )
    with pytest.raises(delivery.Retry):
        delivery.sync(incident.pk)
    assert delivery.sync(incident.pk) == 1  # the retry: the first copy was recorded
    updates = SandboxMessage.objects.filter(msg_type="interactive").values_list(
        "message_id", "update_count"
    )
    assert dict(updates) == {first.message_id: 1, second.message_id: 1}


def test_a_cache_flush_between_a_change_and_its_sync_patches_every_copy_once(
    console_app, incident, people, group, monkeypatch
):
    send_all(incident, console_app, [people["alice"], people["bob"]], [group])
    planned = []
    monkeypatch.setattr(tasks.sync_cards, "apply_async", lambda args, **_: planned.append(args))
    lifecycle.claim(incident, Actor(people["bob"], "api"))
    delivery.cache.clear()  # "cards sent" and "sync planned" are gone: both asked again
    lifecycle.snooze(incident, Actor(people["bob"], "api"), timedelta(hours=1))
    assert planned == [(incident.pk,), (incident.pk,)]
    assert [delivery.sync(*args) for args in planned] == [3, 0]
    copies = SandboxMessage.objects.filter(msg_type="interactive")
    assert [c.update_count for c in copies] == [1, 1, 1]
    for copy in copies:
        assert "Snoozed until" in copy.content


def test_changes_in_a_burst_schedule_one_sync(console_app, incident, people, monkeypatch):
    send_all(incident, console_app, [people["alice"]])
    scheduled = []
    monkeypatch.setattr(tasks.sync_cards, "apply_async", lambda *a, **k: scheduled.append(k))
    delivery.cache.delete(delivery._sync_key(incident.pk))
    for _ in range(10):
        delivery.schedule_sync(incident.pk)
    assert scheduled == [{"countdown": delivery.SYNC_DELAY_SECONDS}]


def test_a_change_asks_the_database_about_sent_cards_until_it_has_found_one(
    console_app, incident, people, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(tasks.sync_cards, "apply_async", lambda *a, **k: None)
    with django_assert_num_queries(1):
        delivery.schedule_sync(incident.pk)  # nothing sent
    with django_assert_num_queries(0):
        delivery.schedule_sync(incident.pk)  # "none yet" is kept a while
    send_all(incident, console_app, [people["alice"]])
    with django_assert_num_queries(0):  # the send replaced "none yet"
        assert delivery._has_sent_cards(incident.pk)
    delivery.cache.delete(delivery._cards_sent_key(incident.pk))  # evicted, say
    with django_assert_num_queries(1):
        delivery.schedule_sync(incident.pk)
    with django_assert_num_queries(0):  # every change after that, from any process
        delivery.schedule_sync(incident.pk)


def test_a_sync_lost_with_its_worker_holds_off_the_next_only_until_it_was_due(
    console_app, incident, people, monkeypatch
):
    send_all(incident, console_app, [people["alice"]])
    scheduled = []
    monkeypatch.setattr(tasks.sync_cards, "apply_async", lambda *a, **k: scheduled.append(k))
    monkeypatch.setattr(delivery, "SYNC_PLANNED_SECONDS", 1)
    delivery.cache.delete(delivery._sync_key(incident.pk))
    delivery.schedule_sync(incident.pk)  # its task is lost: it never runs
    time.sleep(1.2)
    delivery.schedule_sync(incident.pk)  # a claim, say: its change must still reach the cards
    assert len(scheduled) == 2


def test_cards_older_than_14_days_are_left_alone(console_app, incident, people):
    send_all(incident, console_app, [people["alice"]])
    SentCard.objects.filter(delivery__incident=incident).update(
        sent_at=timezone.now() - timedelta(days=14)
    )
    lifecycle.close(incident, Actor(people["alice"], "api"))  # syncs (eager tasks)
    assert delivery.sync(incident.pk) == 0
    (card,) = SandboxMessage.objects.filter(msg_type="interactive")
    assert card.update_count == 0


def test_syncing_a_deleted_incident_does_nothing(console_app, incident):
    incident_id = incident.pk
    incident.delete()
    assert delivery.sync(incident_id) == 0


@pytest.fixture
def announced(incident):
    """The incident as its creation announces it: with a card version (``render_cache``)."""
    render_cache.changed(incident.pk)
    return incident


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """The incident ids whose card was rendered (not reused)."""
    return count_renders(monkeypatch, render_cache)


@pytest.fixture
def syncs(monkeypatch) -> list[int]:
    scheduled: list[int] = []
    monkeypatch.setattr(delivery, "schedule_sync", scheduled.append)
    return scheduled


def test_a_fan_out_renders_the_card_once_and_schedules_no_sync(
    console_app, announced, people, group, renders, syncs
):
    send_all(announced, console_app, [people["alice"], people["bob"]], [group])
    assert SandboxMessage.objects.filter(msg_type="interactive").count() == 3
    assert renders == [announced.pk]
    assert syncs == []  # nothing changed while the cards were on their way


def test_a_change_makes_the_next_send_render_the_card_again(
    console_app, announced, people, renders, syncs
):
    send_all(announced, console_app, [people["alice"]])
    lifecycle.claim(announced, Actor(people["bob"], "api"))
    send_all(announced, console_app, [people["bob"]])
    assert renders == [announced.pk, announced.pk]
    (card,) = cards_of_user(people["bob"], console_app)
    assert "Claimed by Bob" in card.content


def cards_of_user(user, app) -> list[SandboxMessage]:
    row = CardDelivery.objects.get(app=app, user=user)
    return list(SandboxMessage.objects.filter(message_id__in=row.message_ids))


def test_a_change_while_a_card_is_on_its_way_schedules_a_sync(
    console_app, announced, people, syncs, monkeypatch
):
    real_post = delivery._post

    def post_during_a_change(*args):
        render_cache.changed(announced.pk)  # e.g. a claim committed meanwhile
        return real_post(*args)

    monkeypatch.setattr(delivery, "_post", post_during_a_change)
    send_all(announced, console_app, [people["alice"]])
    assert syncs == [announced.pk]


def test_an_incident_nobody_announced_yet_is_rendered_once_and_not_synced(
    console_app, incident, people, renders, syncs
):
    # Its first render starts its card version (``chatkit.card_versions``): the next send
    # reuses the card, and neither finds a change to sync.
    send_all(incident, console_app, [people["alice"], people["bob"]])
    assert renders == [incident.pk]
    assert syncs == []


def test_a_version_lost_with_the_cache_asks_for_a_sync(
    console_app, announced, people, syncs, monkeypatch
):
    real_post = delivery._post

    def post_after_a_flush(*args):
        cache.clear()  # Redis flushed while the card was on its way: nobody knows any more
        return real_post(*args)

    monkeypatch.setattr(delivery, "_post", post_after_a_flush)
    send_all(announced, console_app, [people["alice"]])
    assert syncs == [announced.pk]


def test_recipients_that_cannot_be_reached_cost_no_query_each(
    console_app, people, group, monkeypatch
):
    monkeypatch.setattr(delivery, "_enqueue_sends", lambda ids: None)
    FeishuChat.objects.filter(pk=group.pk).update(status=FeishuChat.Status.BOT_REMOVED)
    group.refresh_from_db()

    def queries_to_notify(unlinked_count: int) -> int:
        incident = IncidentFactory(channel=ChannelFactory())
        unlinked = [UserFactory() for _ in range(unlinked_count)]
        with CaptureQueriesContext(connection) as captured:
            result = delivery.notify(incident, console_app, [people["alice"], *unlinked], [group])
        assert len(result.unreachable) == unlinked_count + 1
        assert incident.timeline.filter(kind="delivery_failed").count() == unlinked_count + 1
        return len(captured.captured_queries)

    assert queries_to_notify(1) == queries_to_notify(6)


def test_notifying_many_recipients_takes_the_same_few_queries(
    console_app, incident, people, group, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(delivery, "_enqueue_sends", lambda ids: None)
    linked = [people["alice"], people["bob"]]
    with django_assert_num_queries(6):  # savepoint, links, insert, update, select, release
        first = delivery.notify(incident, console_app, linked, [group])
    with django_assert_num_queries(6):
        again = delivery.notify(incident, console_app, linked, [group])
    assert first.delivery_ids == again.delivery_ids
    assert [row.requested for row in CardDelivery.objects.filter(incident=incident)] == [2, 2, 2]


# --- Sending in batches -------------------------------------------------------------------------


def test_a_send_reads_its_delivery_once(console_app, announced, people, syncs):
    row = owed_card(announced, console_app, people["alice"])
    with CaptureQueriesContext(connection) as captured:
        delivery.send_many([row.pk])
    reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "integrations_carddelivery"' in q["sql"]
    ]
    assert len(reads) == 1
    row.refresh_from_db()
    assert (row.state, row.sent) == (State.SENT, 1)


def test_a_notification_is_sent_by_one_task_per_batch_of_deliveries(monkeypatch):
    batches = []
    monkeypatch.setattr(tasks.send_cards, "delay", batches.append)
    delivery._enqueue_sends(list(range(1, 24)))
    assert [len(batch) for batch in batches] == [10, 10, 3]
    assert [pk for batch in batches for pk in batch] == list(range(1, 24))


@pytest.fixture
def no_limiter(monkeypatch):
    """Sends that no real rate limiter (nor its clock) puts off: the test's windows alone."""
    monkeypatch.setattr(
        delivery, "_client", lambda app, max_wait: app.client(max_wait=max_wait, limiter=None)
    )


@pytest.fixture
def closed_window_for(monkeypatch, no_limiter):
    """``closed_window_for(user, seconds)``: the first send to ``user`` meets a closed rate-limit
    window that opens after ``seconds``; ``attempts`` lists every send tried, by username."""
    real_post = delivery._post
    closed: dict[str, float] = {}
    attempts: list[str] = []

    def post(row, card, number, client):
        name = row.user.username
        attempts.append(name)
        if name in closed:
            raise errors.RateLimited("receiver window", retry_after=closed.pop(name))
        return real_post(row, card, number, client)

    monkeypatch.setattr(delivery, "_post", post)

    def close(user, seconds):
        closed[user.username] = seconds
        return attempts

    return close


def test_a_batch_sends_to_others_while_a_receivers_window_is_closed(
    console_app, incident, people, sandbox_people, closed_window_for
):
    rows = [owed_card(incident, console_app, people[key]) for key in ("alice", "bob")]
    attempts = closed_window_for(people["alice"], 0.4)
    clock = FakeClock()
    later = delivery.send_many([r.pk for r in rows], sleep=clock.sleep, clock=clock)
    assert later == delivery.Later()
    assert attempts == ["alice", "bob", "alice"]
    assert clock.slept == [0.4]  # only until alice's window opened
    for key in ("alice", "bob"):
        assert len(cards_of(sandbox_people[key])) == 1
    assert {r.state for r in CardDelivery.objects.filter(incident=incident)} == {State.SENT}


def test_a_batch_leaves_sends_that_must_wait_too_long_to_one_later_task(
    console_app, incident, people, sandbox_people, closed_window_for, monkeypatch
):
    rows = [owed_card(incident, console_app, people[key]) for key in ("alice", "bob", "carol")]
    LinkedAccount.objects.create(user=people["carol"], app=console_app, open_id="ou_carol")
    closed_window_for(people["alice"], 7)
    closed_window_for(people["bob"], 9)
    retries = []
    monkeypatch.setattr(
        tasks.send_cards, "apply_async", lambda args, countdown: retries.append((args, countdown))
    )
    tasks.send_cards([r.pk for r in rows])
    assert cards_of(sandbox_people["alice"]) == cards_of(sandbox_people["bob"]) == []
    ((args, countdown),) = retries  # both, when the first window opens
    assert args == ([rows[0].pk, rows[1].pk],)
    assert 6 < countdown <= 7


def test_a_transient_failure_in_a_batch_is_retried_with_backoff_alone(
    console_app, incident, people, sandbox_people, no_limiter
):
    Fault.objects.create(path_prefix="/open-apis/im/v1/messages", status=503, remaining=1)
    rows = [owed_card(incident, console_app, people[key]) for key in ("alice", "bob")]
    later = delivery.send_many([r.pk for r in rows])
    assert later == delivery.Later(backoffs={rows[0].pk: 2.0})  # alice's send went first
    assert len(cards_of(sandbox_people["bob"])) == 1
    rows[0].refresh_from_db()
    assert (rows[0].attempts, rows[0].sent) == (1, 0)


def test_the_task_sends_a_transient_failure_again_alone_after_its_backoff(
    console_app, incident, people, sandbox_people, no_limiter, monkeypatch
):
    Fault.objects.create(path_prefix="/open-apis/im/v1/messages", status=503, remaining=1)
    rows = [owed_card(incident, console_app, people[key]) for key in ("alice", "bob")]
    again = []
    monkeypatch.setattr(
        tasks.send_cards, "apply_async", lambda args, countdown: again.append((args, countdown))
    )
    tasks.send_cards([r.pk for r in rows])
    assert again == [(([rows[0].pk],), 2.0)]
    tasks.send_cards(*again[0][0])  # the retry, when it is due
    assert [len(cards_of(sandbox_people[key])) for key in ("alice", "bob")] == [1, 1]


def test_a_send_card_task_queued_before_batching_still_sends(
    console_app, incident, people, sandbox_people
):
    row = owed_card(incident, console_app, people["alice"])
    tasks.send_card(row.pk)
    assert len(cards_of(sandbox_people["alice"])) == 1


def test_a_batch_answers_every_notification_a_delivery_owes_with_one_card(
    console_app, incident, people, sandbox_people
):
    row = owed_card(incident, console_app, people["alice"])
    CardDelivery.objects.filter(pk=row.pk).update(requested=2)
    assert delivery.send_many([row.pk, row.pk]) == delivery.Later()
    assert delivery.send_many([row.pk]) == delivery.Later()  # a redelivered task: nothing more
    row.refresh_from_db()
    assert (row.sent, len(row.message_ids)) == (2, 1)
    assert len(cards_of(sandbox_people["alice"])) == 1


def test_a_send_put_off_by_a_rate_limit_goes_with_the_card_rendered_for_it(
    console_app, incident, people, sandbox_people, closed_window_for, renders, syncs
):
    # Nobody announced the incident: without the card kept, the second try renders again.
    row = owed_card(incident, console_app, people["alice"])
    attempts = closed_window_for(people["alice"], 0.2)
    clock = FakeClock()
    assert delivery.send_many([row.pk], sleep=clock.sleep, clock=clock) == delivery.Later()
    assert attempts == ["alice", "alice"]
    assert renders == [incident.pk]  # not rendered again for the second try
    assert len(cards_of(sandbox_people["alice"])) == 1


# --- Sends lost with their worker ----------------------------------------------------------------


def test_a_send_lost_with_its_worker_is_sent_again_by_the_sweep_once(
    console_app, incident, people, sandbox_people
):
    lost = owed_card(incident, console_app, people["alice"])
    posted_but_not_recorded(lost, people["alice"])  # and its task is gone with its worker
    moving = owed_card(incident, console_app, people["bob"])  # its task is on its way
    long_ago = timezone.now() - timedelta(minutes=10)
    CardDelivery.objects.filter(pk=lost.pk).update(updated_at=long_ago)

    assert delivery.resend_stalled() == 1
    assert len(cards_of(sandbox_people["alice"])) == 1  # recorded, not posted again
    lost.refresh_from_db()
    assert (lost.state, lost.sent) == (State.SENT, 1)
    moving.refresh_from_db()
    assert moving.sent == 0
    assert delivery.resend_stalled() == 0  # nothing else is stalled


def test_a_send_waiting_for_its_backoff_is_not_stalled(console_app, incident, people, settings):
    row = owed_card(incident, console_app, people["alice"])
    moved = timezone.now() - timedelta(seconds=settings.FEISHU_DELIVERY_REQUEUE_SECONDS + 10)
    CardDelivery.objects.filter(pk=row.pk).update(attempts=7, updated_at=moved)
    assert delivery.resend_stalled() == 0  # its 128 s backoff is not over
    later = timezone.now() + timedelta(seconds=130)
    assert delivery.resend_stalled(now=later) == 1
