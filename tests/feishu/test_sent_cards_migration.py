"""Migration ``integrations.0004_sent_cards``: every message in a delivery's JSON list becomes a
``SentCard`` row showing the delivery's last fingerprint, and going back rebuilds the list.

The tests migrate the real test database back and forth (hence ``transaction=True``: the
schema editor of SQLite cannot run inside the test's transaction) and always leave it at the
latest migration of every app, as the rest of the suite expects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("integrations", "0003_feishu_linked_accounts_deliveries")
FINGERPRINT = "f" * 64
FIRST_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SECOND_AT = datetime(2026, 3, 1, 9, 45, 12, 250000, tzinfo=UTC)


def migrate(targets):
    """Migrate to ``targets``; the historical models of what is applied then."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # reads what is applied now
    return executor.loader.project_state(list(executor.loader.applied_migrations)).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def migrator():
    """``migrator(targets)`` migrates and returns historical apps; the database is back at the
    latest migrations after the test, whatever happened."""
    try:
        yield migrate
    finally:
        migrate(latest())


def a_delivery(apps, **fields):
    """A delivery of a new incident to a chat, through a new app, at migration 0003."""
    app = apps.get_model("integrations", "FeishuApp").objects.create(
        name="Ops", app_id="cli_migration", app_secret="s", verification_token="t"
    )
    chat = apps.get_model("integrations", "FeishuChat").objects.create(app=app, chat_id="oc_sre")
    channel = apps.get_model("oncall", "Channel").objects.create(name="Databases")
    incident = apps.get_model("oncall", "Incident").objects.create(
        number=1, channel=channel, title="Replication lag", severity="critical", group_key="k"
    )
    return apps.get_model("integrations", "CardDelivery").objects.create(
        incident=incident, app=app, chat=chat, state="sent", **fields
    )


def test_it_turns_every_sent_message_into_a_row_and_drops_the_list(migrator):
    old = migrator([BEFORE])
    delivery = a_delivery(
        old,
        requested=2,
        sent=2,
        card_fingerprint=FINGERPRINT,
        messages=[
            {"id": "om_first", "at": FIRST_AT.isoformat()},
            {"id": "om_second", "at": SECOND_AT.isoformat()},
        ],
    )

    new = migrator(latest())

    rows = new.get_model("integrations", "SentCard").objects.order_by("sent_at")
    assert [(r.delivery_id, r.message_id, r.fingerprint, r.sent_at) for r in rows] == [
        (delivery.pk, "om_first", FINGERPRINT, FIRST_AT),
        (delivery.pk, "om_second", FINGERPRINT, SECOND_AT),
    ]
    assert [r.updated_at for r in rows] == [FIRST_AT, SECOND_AT]
    fields = {f.name for f in new.get_model("integrations", "CardDelivery")._meta.get_fields()}
    assert not fields & {"messages", "card_fingerprint"}


def test_going_back_rebuilds_the_list_from_the_rows(migrator):
    old = migrator([BEFORE])
    delivery = a_delivery(
        old,
        sent=2,
        card_fingerprint=FINGERPRINT,
        messages=[
            {"id": "om_first", "at": FIRST_AT.isoformat()},
            {"id": "om_second", "at": SECOND_AT.isoformat()},
        ],
    )
    migrator(latest())

    back = migrator([BEFORE])

    again = back.get_model("integrations", "CardDelivery").objects.get(pk=delivery.pk)
    assert again.card_fingerprint == FINGERPRINT
    assert [(m["id"], datetime.fromisoformat(m["at"])) for m in again.messages] == [
        ("om_first", FIRST_AT),
        ("om_second", SECOND_AT),
    ]
