"""DingTalk incident cards against the sandbox on a live server: to a person and to a group,
coloured by severity and state, a click that claims through the lifecycle and updates every
copy, a retried send that posts once, the API budget's refusal, and a broken group target."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from integrations.dingtalk import budget, escalation_targets
from integrations.dingtalk.cards import delivery
from integrations.dingtalk.cards.render import SEVERITY_COLOURS, STATE_COLOURS, incident_card
from integrations.dingtalk.models import (
    DingTalkAccount,
    DingTalkApiUsage,
    DingTalkCardDelivery,
    DingTalkGroup,
    DingTalkSentCard,
)
from integrations.dingtalk.platform import DingTalkPlatform
from integrations.dingtalk_sandbox import card_clicks
from integrations.dingtalk_sandbox.models import PushRecord, SandboxCard
from oncall import platforms
from oncall.links import incident_url
from oncall.models import EscalationLevel, Incident, TimelineEntry
from oncall.wording import DisplayState
from tests.dingtalk.cards_world import cards_to, group_cards, shows, user_id_of
from tests.factories import AlertFactory, IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def level_with(world, *names: str, groups=()) -> EscalationLevel:
    level = EscalationLevel.objects.create(rule=world.rule, position=1, escalate_after_minutes=5)
    level.users.add(*[world.users[n] for n in names])
    for group in groups:
        level.dingtalk_targets.create(group=group)
    return level


def notify(world, level: EscalationLevel, incident: Incident, *names: str):
    people = [world.users[n] for n in names]
    return DingTalkPlatform().notify(incident, world.rule, level, people)


def test_a_level_sends_a_card_to_a_person_and_to_its_group(world):
    incident = IncidentFactory(channel=world.channel, title="Replication lag", severity="critical")
    level = level_with(world, "alice", groups=[world.group])

    report = notify(world, level, incident, "alice")

    assert report.notified == ["Alice", "SRE"]
    (card,) = cards_to("alice")
    (in_group,) = group_cards(world)
    assert card.data == in_group.data
    assert card.data["header"]["title"]["text"] == f"#{incident.number} Replication lag"
    assert SEVERITY_COLOURS["critical"] in json.dumps(card.data)
    assert {b["id"] for b in card_clicks.buttons(card)} >= {"claim", "close", "snooze:1h"}
    assert DingTalkSentCard.objects.count() == 2
    assert f"]({incident_url(incident)})" in json.dumps(card.data)


def test_a_click_claims_through_the_lifecycle_and_every_copy_updates(world):
    incident = IncidentFactory(channel=world.channel, severity="warning")
    level = level_with(world, "alice", "bob", groups=[world.group])
    notify(world, level, incident, "alice", "bob")
    (bobs,) = cards_to("bob")

    record = card_clicks.click(bobs, user_id_of("bob"), "claim")
    closed = card_clicks.click(bobs, user_id_of("bob"), "close")

    assert record.ok, record.outcome
    assert record.outcome == "Claimed by you."
    assert closed.outcome == "Closed."
    incident.refresh_from_db()
    assert incident.claimed_by == world.users["bob"]
    assert incident.status == Incident.Status.CLOSED
    entry = incident.timeline.filter(kind=TimelineEntry.Kind.CLAIMED).get()
    assert entry.source == "dingtalk"
    copies = SandboxCard.objects.all()
    assert len(copies) == 3
    assert all(shows(copy, "Closed by Bob") for copy in copies)
    assert all(STATE_COLOURS[DisplayState.CLOSED] in json.dumps(c.data) for c in copies)
    assert all({b["id"] for b in card_clicks.buttons(c)} == {"reopen"} for c in copies)
    assert [copy.updates for copy in copies] == [2, 2, 2]  # the claim, then the close


def test_a_click_by_someone_the_console_does_not_know_changes_nothing(world):
    incident = IncidentFactory(channel=world.channel)
    notify(world, level_with(world, "alice"), incident, "alice")
    (card,) = cards_to("alice")

    record = card_clicks.click(card, "staff-stranger", "claim")

    assert record.ok
    assert "not linked" in record.outcome
    incident.refresh_from_db()
    assert incident.claimed_by is None


def test_a_retried_send_posts_once(world):
    incident = IncidentFactory(channel=world.channel)
    notify(world, level_with(world, "alice"), incident, "alice")
    row = DingTalkCardDelivery.objects.get()
    # The card went out, but the worker died before writing it down: the task runs again.
    DingTalkCardDelivery.objects.filter(pk=row.pk).update(sent=0)
    DingTalkSentCard.objects.all().delete()

    delivery.send(row.pk)
    delivery.send(row.pk)

    assert len(cards_to("alice")) == 1  # DingTalk holds one card per outTrackId
    (sent,) = DingTalkSentCard.objects.all()
    assert sent.out_track_id == f"oncall-{row.pk}-1"
    row.refresh_from_db()
    assert (row.sent, row.state) == (1, "sent")


def test_a_spent_budget_refuses_the_call_and_says_so_on_the_timeline(world):
    month = budget.quota_month()
    DingTalkApiUsage.objects.create(app=world.app, month=month, calls=10_000)
    incident = IncidentFactory(channel=world.channel)

    notify(world, level_with(world, "alice"), incident, "alice")

    assert cards_to("alice") == []
    row = DingTalkCardDelivery.objects.get()
    assert row.state == DingTalkCardDelivery.State.BUDGET_SPENT
    failed = incident.timeline.get(kind=TimelineEntry.Kind.DELIVERY_FAILED)
    assert "API budget" in failed.message
    assert "10,000" in failed.message
    assert DingTalkApiUsage.objects.get(app=world.app, month=month).calls == 10_001
    assert budget.usage(world.app).level == "spent"


def test_a_person_without_a_linked_account_is_app_not_linked_on_the_timeline(world):
    DingTalkAccount.objects.filter(user=world.users["bob"]).delete()
    escalation_targets.choose_app(world.rule, world.app)  # the rule uses DingTalk
    incident = IncidentFactory(channel=world.channel)

    report = notify(world, level_with(world, "alice", "bob"), incident, "alice", "bob")

    assert report.unreachable == ["Bob"]
    assert cards_to("bob") == []
    row = DingTalkCardDelivery.objects.get(user=world.users["bob"])
    assert row.state == DingTalkCardDelivery.State.NOT_LINKED
    entry = incident.timeline.get(kind=TimelineEntry.Kind.DELIVERY_FAILED)
    link_url = world.app.link_url
    assert link_url.endswith(reverse("dingtalk:link", args=[world.app.public_id]))
    assert entry.message.startswith("App not linked: Bob has no linked DingTalk account")
    assert link_url in entry.message
    with translation.override("zh-hans"):
        assert entry.text.startswith("应用未关联：Bob 在")  # noqa: RUF001
        assert link_url in entry.text


def test_an_uninstalled_group_is_a_broken_target(world):
    level = level_with(world, groups=[world.group])
    DingTalkGroup.objects.filter(pk=world.group.pk).update(status=DingTalkGroup.Status.UNINSTALLED)
    incident = IncidentFactory(channel=world.channel)

    problems = platforms.rule_problems(world.rule)
    report = notify(world, level, incident)

    assert any("SRE" in p and "uninstalled" in p for p in problems)
    assert report.unreachable == ["SRE"]
    assert group_cards(world) == []
    assert DingTalkCardDelivery.objects.get().state == "group_uninstalled"


def test_the_sandbox_shows_the_cards_it_received(world, client):
    incident = IncidentFactory(channel=world.channel, title="Disk full")
    notify(world, level_with(world, "alice"), incident, "alice")
    (card,) = cards_to("alice")

    listing = client.get(reverse("dingtalk_sandbox:cards"))
    page = client.get(reverse("dingtalk_sandbox:card", args=[card.pk]))

    assert "Disk full" in listing.content.decode()
    client.force_login(world.users["alice"])
    console = client.get(f"/incidents/{incident.public_id}/")
    assert "DingTalk notifications" in console.content.decode()
    assert f'value="{user_id_of("alice")}"' in page.content.decode()
    assert PushRecord.objects.filter(event_type="card_callback").count() == 0


def test_the_card_body_comes_from_the_notification_template_medium(world):
    incident = IncidentFactory(channel=world.channel)
    AlertFactory(incident=incident, description="Lag is 40 s")
    card = incident_card(incident)
    assert any("Lag is 40 s" in c.get("text", "") for c in card["contents"])
    names = [m.name for p in platforms.platforms() for m in p.template_media()]
    assert "dingtalk_card" in names


def test_the_month_counts_in_china_time():
    moment = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)
    assert budget.quota_month(moment) == date(2026, 2, 1)


def test_a_send_whose_task_was_lost_is_handed_out_again_once(world):
    incident = IncidentFactory(channel=world.channel)
    row = DingTalkCardDelivery.objects.create(
        incident=incident, app=world.app, user=world.users["alice"], requested=1
    )
    long_ago = timezone.now() - timedelta(seconds=delivery.REQUEUE_SECONDS + 5)
    DingTalkCardDelivery.objects.filter(pk=row.pk).update(updated_at=long_ago)
    assert delivery.resend_stalled(now=long_ago + timedelta(seconds=30)) == 0  # not yet

    assert delivery.resend_stalled() == 1
    assert delivery.resend_stalled() == 0

    assert len(cards_to("alice")) == 1
    row.refresh_from_db()
    assert (row.sent, row.state) == (1, "sent")


def test_the_card_speaks_its_channel_card_language(world):
    """One card for every recipient, in the channel's card language (``ONCALL_LANGUAGE``
    otherwise), as Feishu's cards are."""
    incident = IncidentFactory(channel=world.channel)
    labels = lambda card: [b["label"]["text"] for b in _all_buttons(card)]  # noqa: E731
    assert "Claim" in labels(incident_card(incident))

    world.channel.card_language = "zh-hans"
    world.channel.save()
    incident.refresh_from_db()
    chinese = labels(incident_card(incident))
    assert "认领" in chinese
    assert "Claim" not in chinese


def _all_buttons(card: dict) -> list[dict]:
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "button":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def test_a_console_without_dingtalk_apps_pays_no_query_for_dingtalk(django_assert_num_queries):
    """Every escalation step and every incident change asks DingTalk; with no app there can be
    no group, linked person or sent card, and once counted that costs nothing."""
    from integrations.dingtalk import presence
    from integrations.dingtalk.platform import DingTalkPlatform
    from tests.dingtalk.factories import DingTalkAppFactory
    from tests.factories import EscalationLevelFactory, EscalationRuleFactory, UserFactory

    platform = DingTalkPlatform()
    incident = IncidentFactory()
    rule = EscalationRuleFactory(channel=incident.channel)
    level = EscalationLevelFactory(rule=rule)
    people = [UserFactory()]
    presence.forget()
    assert presence.has_apps() is False  # counted once
    with django_assert_num_queries(0):
        assert platform.notify(incident, rule, level, people).notified == []
        platform.incident_changed(incident.pk, "claimed", incident)

    app = DingTalkAppFactory()
    assert presence.has_apps() is True  # an app saved: counted again
    app.delete()
    assert presence.has_apps() is False
