"""Acting on an incident from its page: every action through the lifecycle service, the same
rules as cards and API, a confirmation before closing, CSRF, and 404 outside one's channels."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from oncall import lifecycle
from oncall.models import ActionSource, Incident, TimelineEntry
from oncall.timeline import Actor
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Incident.Status
Kind = TimelineEntry.Kind


@pytest.fixture
def incident(channel):
    return IncidentFactory(channel=channel, title="Replication lag on db-2")


def page(incident: Incident) -> str:
    return f"/incidents/{incident.public_id}/"


def act(client: Client, incident: Incident, action: str, data: dict | None = None):
    return client.post(f"{page(incident)}{action}/", data or {})


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def last_entry(incident: Incident) -> TimelineEntry:
    return incident.timeline.order_by("-created_at", "-pk").first()


def test_the_page_offers_what_the_state_allows(signed_in, incident):
    body = signed_in.get(page(incident)).content.decode()
    assert f'action="{page(incident)}claim/"' in body
    assert f'action="{page(incident)}snooze/"' in body
    assert f'href="{page(incident)}close/"' in body
    assert "reopen/" not in body

    incident.status = Status.CLOSED
    incident.save()
    body = signed_in.get(page(incident)).content.decode()
    assert f'action="{page(incident)}reopen/"' in body
    assert "claim/" not in body


def test_claim_goes_through_the_lifecycle_and_says_so(signed_in, incident, responder):
    response = act(signed_in, incident, "claim")

    assert response.status_code == 302
    assert response["Location"] == page(incident)
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.claimed_by == responder
    entry = last_entry(incident)
    assert (entry.kind, entry.source, entry.actor) == (Kind.CLAIMED, ActionSource.WEB, responder)
    assert said(response) == ["Claimed by you."]


def test_a_claim_someone_else_won_names_them_and_changes_nothing(signed_in, incident, channel):
    bob = UserFactory(username="bob", first_name="Bob")
    channel.members.add(bob)
    lifecycle.claim(incident, Actor(bob, "feishu"))

    response = act(signed_in, incident, "claim")

    incident.refresh_from_db()
    assert incident.claimed_by == bob
    assert said(response)[0].startswith("Already claimed by Bob at ")
    # The page it comes back to shows the message once; a reload no longer does.
    assert signed_in.get(page(incident)).content.decode().count("Already claimed by Bob") == 1
    assert "Already claimed by Bob" not in signed_in.get(page(incident)).content.decode()


def test_claiming_twice_changes_the_state_once(signed_in, incident):
    act(signed_in, incident, "claim")
    signed_in.get(page(incident))  # shows (and so uses up) the first claim's message
    response = act(signed_in, incident, "claim")

    assert incident.timeline.filter(kind=Kind.CLAIMED).count() == 1
    assert said(response)[0].startswith("Already claimed by you at ")


def test_unclaim_snooze_wake_close_and_reopen(signed_in, incident, responder):
    act(signed_in, incident, "claim")
    act(signed_in, incident, "unclaim")
    incident.refresh_from_db()
    assert (incident.status, incident.claimed_by) == (Status.TRIGGERED, None)

    before = timezone.now()
    act(signed_in, incident, "snooze", {"duration": "2h"})
    incident.refresh_from_db()
    assert before + timedelta(hours=2) <= incident.snoozed_until
    assert incident.snoozed_until <= timezone.now() + timedelta(hours=2)
    assert "Wake" in signed_in.get(page(incident)).content.decode()

    act(signed_in, incident, "wake")
    incident.refresh_from_db()
    assert incident.snoozed_until is None

    act(signed_in, incident, "close", {"note": "Failed over to db-3"})
    incident.refresh_from_db()
    assert (incident.status, incident.closed_by) == (Status.CLOSED, responder)
    assert last_entry(incident).message == "Closed by Alice: Failed over to db-3"

    act(signed_in, incident, "reopen")
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    kinds = list(incident.timeline.order_by("created_at", "pk").values_list("kind", flat=True))
    assert kinds == [
        Kind.CLAIMED,
        Kind.UNCLAIMED,
        Kind.SNOOZED,
        Kind.WOKEN,
        Kind.CLOSED,
        Kind.REOPENED,
    ]
    assert set(incident.timeline.values_list("source", flat=True)) == {ActionSource.WEB}


def test_closing_asks_first(signed_in, incident):
    response = signed_in.get(f"{page(incident)}close/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f"Close incident #{incident.number}?" in body
    assert 'name="csrfmiddlewaretoken"' in body
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


def test_a_close_note_too_long_is_refused_and_nothing_changes(signed_in, incident):
    response = act(signed_in, incident, "close", {"note": "x" * 501})

    assert response.status_code == 400
    assert "at most 500 characters" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


@pytest.mark.parametrize(
    ("duration", "error"),
    [
        ("", "This field is required."),
        ("3h", "Select a valid choice. 3h is not one of the available choices."),
        ("0", "Select a valid choice. 0 is not one of the available choices."),
        ("99999", "Select a valid choice. 99999 is not one of the available choices."),
    ],
)
def test_a_snooze_duration_not_offered_is_a_400_and_nothing_changes(
    signed_in, incident, duration, error
):
    response = act(signed_in, incident, "snooze", {"duration": duration})

    assert response.status_code == 400
    assert error in response.content.decode()
    incident.refresh_from_db()
    assert incident.snoozed_until is None
    assert not incident.timeline.exists()


def test_snooze_offers_only_what_the_lifecycle_accepts(signed_in, incident, settings):
    settings.SNOOZE_MAX_MINUTES = 120

    body = signed_in.get(page(incident)).content.decode()

    assert 'value="2h"' in body
    assert 'value="4h"' not in body
    assert act(signed_in, incident, "snooze", {"duration": "4h"}).status_code == 400


def test_an_impossible_action_says_why(signed_in, incident):
    response = act(signed_in, incident, "wake")

    assert response.status_code == 302
    assert said(response) == ["This incident is not snoozed"]


@pytest.mark.parametrize("action", ["claim", "unclaim", "close", "reopen", "snooze", "wake"])
def test_someone_outside_the_channel_gets_404_and_changes_nothing(
    client, incident, outsider, action
):
    client.force_login(outsider)

    response = act(client, incident, action, {"duration": "1h"})

    assert response.status_code == 404
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert not incident.timeline.exists()


def test_someone_signed_out_is_sent_to_sign_in(client, incident):
    response = act(client, incident, "claim")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


def test_actions_need_the_csrf_token(incident, responder):
    client = Client(enforce_csrf_checks=True)
    client.force_login(responder)

    refused = act(client, incident, "claim")

    assert refused.status_code == 403
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED

    token = client.get(page(incident)).cookies["csrftoken"].value
    accepted = act(client, incident, "claim", {"csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED


def test_actions_are_posts(signed_in, incident):
    assert signed_in.get(f"{page(incident)}claim/").status_code == 405
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


def test_the_page_shows_who_was_notified_and_what_failed(signed_in, incident, responder):
    from integrations.feishu.models import CardDelivery
    from tests.factories import FeishuAppFactory, FeishuChatFactory

    app = FeishuAppFactory(name="Ops bot")
    chat = FeishuChatFactory(app=app, name="SRE on-call")
    bob = UserFactory(username="bob", first_name="Bob")
    CardDelivery.objects.create(incident=incident, app=app, chat=chat, state="sent", sent=1)
    CardDelivery.objects.create(incident=incident, app=app, user=bob, state="not_linked")
    CardDelivery.objects.create(
        incident=incident, app=app, user=responder, state="failed", last_error="Feishu said 5xx"
    )

    body = signed_in.get(page(incident)).content.decode()

    assert "Notifications" in body
    assert "Group chat “SRE on-call”" in body
    assert "Feishu card via Ops bot" in body
    assert "1 card sent" in body
    assert "has not linked their Feishu account" in body
    assert "Feishu said 5xx" in body


def test_no_notifications_section_without_deliveries(signed_in, incident):
    assert "Notifications" not in signed_in.get(page(incident)).content.decode()
