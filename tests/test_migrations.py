"""A database made before the chat-platform contract migrates with everything intact: the
Feishu app a rule chose, the chats of its levels, apps, chats, linked accounts, deliveries and
the timeline, on the schema of that time (oncall 0005, integrations 0003)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from integrations.feishu.escalation_targets import chosen_app, level_chats
from integrations.feishu.models import CardDelivery, FeishuApp, FeishuChat, LinkedAccount
from oncall.models import Alert, EscalationLevel, EscalationRule, Incident, TimelineEntry
from tests.migrating import migrate

BEFORE = [
    ("oncall", "0005_escalation_finished_at"),
    ("integrations", "0003_feishu_linked_accounts_deliveries"),
]


def populate_the_old_schema(old) -> dict[str, int]:
    user = old.get_model("auth", "User").objects.create(username="alice", first_name="Alice")
    channel = old.get_model("oncall", "Channel").objects.create(name="Databases")
    app = old.get_model("integrations", "FeishuApp").objects.create(
        name="Ops", app_id="cli_old", app_secret="s", verification_token="v"
    )
    chat_model = old.get_model("integrations", "FeishuChat")
    sre = chat_model.objects.create(app=app, chat_id="oc_sre", name="SRE")
    dba = chat_model.objects.create(app=app, chat_id="oc_dba", name="DBA")
    rule = old.get_model("oncall", "EscalationRule").objects.create(
        channel=channel, name="Primary", feishu_app=app
    )
    unchosen = old.get_model("oncall", "EscalationRule").objects.create(
        channel=channel, name="Fallback", position=1
    )
    level_model = old.get_model("oncall", "EscalationLevel")
    first = level_model.objects.create(rule=rule, position=0, notify_channel_members=True)
    first.chats.set([sre, dba])
    first.users.set([user])
    second = level_model.objects.create(rule=unchosen, position=0)
    second.chats.set([sre])
    old.get_model("integrations", "LinkedAccount").objects.create(
        user=user, app=app, open_id="ou_alice", name="Alice"
    )
    incident = old.get_model("oncall", "Incident").objects.create(
        number=1, channel=channel, title="Disk full", severity="critical", group_key="k"
    )
    old.get_model("integrations", "CardDelivery").objects.create(
        incident=incident,
        app=app,
        chat=sre,
        state="sent",
        requested=1,
        sent=1,
        messages=[{"id": "om_1", "at": "2026-11-30T10:00:00+00:00"}],
        card_fingerprint="f" * 64,
    )
    old.get_model("oncall", "TimelineEntry").objects.create(
        incident=incident,
        kind="claimed",
        actor=user,
        source="feishu",
        message="Claimed by Alice",
        data={"message_id": "om_1"},
        created_at=datetime(2026, 11, 30, 10, 1, tzinfo=UTC),
    )
    return {"rule": rule.pk, "unchosen": unchosen.pk, "first": first.pk, "second": second.pk}


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_platform_contract_keeps_everything():
    try:
        ids = populate_the_old_schema(migrate(BEFORE))
        migrate()

        rule = EscalationRule.objects.get(pk=ids["rule"])
        app = FeishuApp.objects.get(app_id="cli_old")
        assert chosen_app(rule) == app
        assert chosen_app(EscalationRule.objects.get(pk=ids["unchosen"])) is None
        first = EscalationLevel.objects.get(pk=ids["first"])
        assert sorted(c.chat_id for c in level_chats(first)) == ["oc_dba", "oc_sre"]
        assert [u.username for u in first.users.all()] == ["alice"]
        assert first.notify_channel_members
        second = EscalationLevel.objects.get(pk=ids["second"])
        assert [c.chat_id for c in level_chats(second)] == ["oc_sre"]
        assert FeishuChat.objects.get(chat_id="oc_sre").escalation_levels.count() == 2
        assert app.app_secret == "s"  # still opens with the configured keys
        link = LinkedAccount.objects.get()
        assert (link.user.username, link.open_id) == ("alice", "ou_alice")
        delivery = CardDelivery.objects.get()
        assert (delivery.incident.title, delivery.chat.chat_id) == ("Disk full", "oc_sre")
        assert delivery.message_ids == ["om_1"]
        entry = TimelineEntry.objects.get(incident=Incident.objects.get(number=1))
        assert (entry.source, entry.source_label, entry.actor) == (
            "feishu",
            "Feishu",
            get_user_model().objects.get(username="alice"),
        )
    finally:
        migrate()  # whatever happened, the next test finds the latest schema


@pytest.mark.django_db(transaction=True)
def test_the_move_can_be_undone_with_the_targets_back_on_the_core():
    try:
        migrate(BEFORE)
        ids = populate_the_old_schema(migrate(BEFORE))
        migrate()
        old = migrate(BEFORE)

        rule = old.get_model("oncall", "EscalationRule").objects.get(pk=ids["rule"])
        assert rule.feishu_app.app_id == "cli_old"
        first = old.get_model("oncall", "EscalationLevel").objects.get(pk=ids["first"])
        assert sorted(c.chat_id for c in first.chats.all()) == ["oc_dba", "oc_sre"]
    finally:
        migrate()


@pytest.mark.django_db(transaction=True)
def test_an_incident_a_source_acknowledged_before_keeps_the_sources_name():
    before = [("oncall", "0007_inbound_event_chunks")]
    try:
        old = migrate(before)
        channel = old.get_model("oncall", "Channel").objects.create(name="Payments")
        incident = old.get_model("oncall", "Incident").objects.create(
            channel=channel,
            number=41,
            title="Latency",
            status="acknowledged",
            group_key="g",
            claimed_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        old.get_model("oncall", "TimelineEntry").objects.create(
            incident=incident,
            kind="claimed",
            message="Acknowledged by Legacy PD",
            data={"name": "Legacy PD"},
        )
        migrate()

        assert Incident.objects.get(number=41).acknowledged_by_source == "Legacy PD"
    finally:
        migrate()


@pytest.mark.django_db(transaction=True)
def test_alerts_stored_with_a_start_after_their_arrival_are_clamped():
    before = [("oncall", "0030_incident_in_maintenance_derived")]
    try:
        old = migrate(before)
        channel = old.get_model("oncall", "Channel").objects.create(name="Payments")
        arrived = datetime(2026, 11, 1, 10, tzinfo=UTC)
        alerts = old.get_model("oncall", "Alert").objects

        def alert(key: str, started_at: datetime | None) -> None:
            alerts.create(
                channel=channel,
                alert_key=key,
                title=key,
                severity="warning",
                first_seen=arrived,
                last_seen=arrived,
                started_at=started_at,
            )

        alert("fast-clock", datetime(2099, 1, 1, tzinfo=UTC))
        alert("earlier", datetime(2026, 11, 1, 9, tzinfo=UTC))
        alert("none", None)
        migrate()
        starts = dict(Alert.objects.values_list("alert_key", "started_at"))
        assert starts == {
            "fast-clock": arrived,
            "earlier": datetime(2026, 11, 1, 9, tzinfo=UTC),
            "none": None,
        }
    finally:
        migrate()
