"""One current card per person and incident, against the sandbox: a person who links after
being refused as "app not linked" gets one card, a repeat sends the current card once and
turns the older copy into a short "see the newer card" form, which later changes leave alone;
a click on such a copy still acts and answers with the current card."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.cards import delivery, supersede
from integrations.feishu.models import CardDelivery, SentCard
from integrations.feishu.oauth import bulk_linking, linking
from integrations.feishu.oauth.provider import FeishuIdentity
from integrations.feishu_sandbox.models import ApiCall, SandboxMessage
from integrations.feishu_sandbox.send import Click, send_card_action
from oncall import lifecycle
from oncall.models import Incident, TimelineEntry
from oncall.timeline import Actor
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link

pytestmark = pytest.mark.django_db(transaction=True)

SHORT_FORM = "A newer card for this incident was sent below"


@pytest.fixture
def people(console_app, sandbox_app, sandbox_people):
    """alice linked; carol not linked yet."""
    users = {key: UserFactory(username=key, first_name=key.title()) for key in ("alice", "carol")}
    link(users["alice"], console_app, sandbox_app, sandbox_people["alice"])
    return users


@pytest.fixture
def incident(people):
    channel = ChannelFactory(name="Databases")
    channel.members.add(*people.values())
    return IncidentFactory(channel=channel, title="Replication lag")


def cards_of(person) -> list[SandboxMessage]:
    return list(SandboxMessage.objects.filter(user=person, msg_type="interactive").order_by("pk"))


def shows(message: SandboxMessage) -> str:
    message.refresh_from_db()
    return json.dumps(json.loads(message.content), ensure_ascii=False)


def live(cards: list[SandboxMessage]) -> list[SandboxMessage]:
    return [card for card in cards if SHORT_FORM not in shows(card)]


def patches_of(message: SandboxMessage) -> int:
    return ApiCall.objects.filter(
        method="PATCH", path=f"/open-apis/im/v1/messages/{message.message_id}"
    ).count()


def link_in_feishu(user, console_app, sandbox_app, person) -> None:
    """``user`` opens the app and links their Feishu account (what the OAuth callback does)."""
    identity = FeishuIdentity.from_user_info(
        {"open_id": sandbox_app.open_id_of(person), "name": person.name}
    )
    linking.link(user, console_app, identity)


def test_a_person_linking_after_three_refusals_receives_one_card(
    console_app, sandbox_app, sandbox_people, people, incident
):
    carol = people["carol"]
    for _ in range(3):  # three levels or repeats refused: "app not linked"
        assert delivery.notify(incident, console_app, [carol], []).unreachable == ["Carol"]
    assert cards_of(sandbox_people["carol"]) == []

    link_in_feishu(carol, console_app, sandbox_app, sandbox_people["carol"])

    (card,) = cards_of(sandbox_people["carol"])
    assert "Replication lag" in shows(card)
    row = CardDelivery.objects.get(incident=incident, user=carol)
    assert (row.state, row.requested, row.sent) == (CardDelivery.State.SENT, 3, 3)
    assert incident.timeline.filter(
        kind=TimelineEntry.Kind.NOTIFIED, message__startswith="Carol linked their account"
    ).exists()
    # The next repeat reaches her as any linked person: one more card, the first superseded.
    delivery.notify(incident, console_app, [carol], [])
    cards = cards_of(sandbox_people["carol"])
    assert len(cards) == 2
    assert live(cards) == [cards[1]]


def test_linking_sends_nothing_for_an_incident_closed_meanwhile(
    console_app, sandbox_app, sandbox_people, people, incident
):
    carol = people["carol"]
    delivery.notify(incident, console_app, [carol], [])
    lifecycle.close(incident, Actor(people["alice"], "api"))

    link_in_feishu(carol, console_app, sandbox_app, sandbox_people["carol"])

    assert cards_of(sandbox_people["carol"]) == []
    row = CardDelivery.objects.get(incident=incident, user=carol)
    assert row.state == CardDelivery.State.NOT_LINKED


def test_an_admins_bulk_linking_sends_the_refused_card_once(
    console_app, sandbox_people, people, incident
):
    carol = people["carol"]
    carol.email = "carol@example.com"
    carol.save()
    for _ in range(2):
        delivery.notify(incident, console_app, [carol], [])

    assert carol in bulk_linking.link_by_email(console_app).linked

    assert len(cards_of(sandbox_people["carol"])) == 1


def test_a_level_with_three_repeats_leaves_one_live_card(
    console_app, sandbox_people, people, incident
):
    alice = people["alice"]
    for _ in range(3):  # the level, then two repeats
        delivery.notify(incident, console_app, [alice], [])

    cards = cards_of(sandbox_people["alice"])
    assert len(cards) == 3
    assert live(cards) == [cards[2]]
    assert SentCard.objects.filter(superseded_at__isnull=True).count() == 1
    # Each older copy was patched once, into the short form, which links to the incident.
    assert [patches_of(card) for card in cards] == [1, 1, 0]
    assert console_app.web_url in shows(cards[0])

    lifecycle.claim(incident, Actor(alice, "api"))

    # Only the live card shows the claim; the superseded ones are not patched again.
    assert "Claimed by Alice" in shows(cards[2])
    assert [patches_of(card) for card in cards] == [1, 1, 1]
    assert delivery.sync(incident.pk) == 0


def test_a_click_on_a_superseded_copy_acts_and_answers_with_the_current_card(
    console_app, sandbox_app, sandbox_people, people, incident
):
    sandbox_app.card_request_url = console_app.card_callback_url
    sandbox_app.save()
    alice = people["alice"]
    for _ in range(2):
        delivery.notify(incident, console_app, [alice], [])
    old, new = cards_of(sandbox_people["alice"])
    value = {"action": "claim", "incident": str(incident.public_id)}

    answer = send_card_action(sandbox_app, sandbox_people["alice"], old, Click("button", value))

    assert answer.toast == "Claimed by you."
    assert "Claimed by Alice" in json.dumps(answer.card)
    assert Incident.objects.get(pk=incident.pk).claimed_by == alice
    assert "Claimed by Alice" in shows(new)  # the click's sync (run at once here)
    # The sync the click planned, a second later: the old copy back to the short form.
    assert delivery.sync(incident.pk) == 1
    assert SHORT_FORM in shows(old)
    assert delivery.sync(incident.pk) == 0


def test_a_message_recorded_after_a_newer_one_is_kept_superseded(console_app, people, incident):
    # Two tasks raced: the one sending notification 2 recorded first; notification 1's
    # message, which reached Feishu too, must still be known (and get the short form).
    row = CardDelivery.objects.create(
        incident=incident, app=console_app, user=people["alice"], requested=2
    )
    stale = CardDelivery.objects.get(pk=row.pk)
    assert delivery._record_sent(row, 2, "om_newer", "f")
    assert not delivery._record_sent(stale, 1, "om_older", "f")
    assert not delivery._record_sent(stale, 2, "om_newer", "f")  # a twin: nothing more

    copies = {c.message_id: c.superseded_at is not None for c in SentCard.objects.all()}
    assert copies == {"om_newer": False, "om_older": True}


def test_the_short_form_links_to_the_incident_through_the_web_entry(console_app, incident):
    card = supersede.short_card(incident, console_app)
    text = json.dumps(card)
    assert f"#{incident.number}" in text
    assert console_app.web_entry_url(f"/incidents/{incident.public_id}/") in text


def test_the_api_names_the_copy_kept_current(client, console_app, sandbox_people, people, incident):
    for _ in range(2):
        delivery.notify(incident, console_app, [people["alice"]], [])
    old, new = cards_of(sandbox_people["alice"])
    client.force_login(people["alice"])

    (row,) = client.get("/api/v1/feishu-card-deliveries/").json()["results"]

    assert row["message_ids"] == [old.message_id, new.message_id]
    assert row["current_message_id"] == new.message_id
