"""The card callback URL refuses what DingTalk did not sign and seal with the app's keys, an old
timestamp and a replay, before anything is read; a click it accepts acts through the lifecycle
as the person linked to the clicker's userId."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.dingtalk.models import (
    DingTalkAccount,
    DingTalkCardDelivery,
    DingTalkSentCard,
)
from oncall.models import Incident
from tests.factories import ChannelFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clicked(app):
    """Alice's card of an incident of her channel, sent through ``app``."""
    alice = UserFactory(username="alice", first_name="Alice")
    DingTalkAccount.objects.create(app=app, user=alice, dingtalk_user_id="staff-alice")
    channel = ChannelFactory()
    channel.members.add(alice)
    incident = IncidentFactory(channel=channel)
    row = DingTalkCardDelivery.objects.create(
        incident=incident, app=app, user=alice, requested=1, sent=1, state="sent"
    )
    now = timezone.now()
    DingTalkSentCard.objects.create(
        delivery=row, out_track_id="oncall-1-1", fingerprint="x", sent_at=now, updated_at=now
    )
    return incident


def click(action: str = "claim", user_id: str = "staff-alice") -> dict:
    private = json.dumps({"cardPrivateData": {"actionIds": [action], "params": {}}})
    return {"outTrackId": "oncall-1-1", "userId": user_id, "content": private}


def post(client, app, query: dict, body: dict):
    url = f"{reverse('dingtalk:card-callback', args=[app.public_id])}?{urlencode(query)}"
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_a_signed_click_claims_the_incident(client, app, pusher, clicked):
    response = post(client, app, *pusher.signed(click()))
    assert response.status_code == 200
    assert response.json()["toast"] == {"type": "success", "content": "Claimed by you."}
    clicked.refresh_from_db()
    assert clicked.status == Incident.Status.ACKNOWLEDGED


@pytest.mark.parametrize(
    "tampering",
    [
        {"token": "another-signature-token"},
        {"aes_key": "A" * 43},
        {"owner": "dingsomeoneelse"},
        {"timestamp": str(int((time.time() - 7200) * 1000))},
    ],
    ids=["wrong signature", "wrong aes_key", "another app's", "old timestamp"],
)
def test_a_click_not_sealed_for_this_app_or_too_old_is_refused(
    client, app, pusher, clicked, tampering
):
    response = post(client, app, *pusher.signed(click(), **tampering))
    assert response.status_code == 401
    clicked.refresh_from_db()
    assert clicked.status == Incident.Status.TRIGGERED


def test_a_replayed_click_is_refused(client, app, pusher, clicked):
    query, body = pusher.signed(click("claim"))
    assert post(client, app, query, body).status_code == 200
    assert post(client, app, query, body).status_code == 409


def test_a_click_without_its_fields_is_a_400_with_the_reason(client, app, pusher, clicked):
    response = post(client, app, *pusher.signed({"outTrackId": "oncall-1-1", "userId": "x"}))
    assert response.status_code == 400
    assert "actionIds" in response.json()["error"]["message"]


def test_a_card_the_console_did_not_send_changes_nothing(client, app, pusher, clicked):
    body = click() | {"outTrackId": "someone-elses-card"}
    response = post(client, app, *pusher.signed(body))
    assert response.status_code == 200
    assert response.json()["toast"]["type"] == "warning"
    clicked.refresh_from_db()
    assert clicked.status == Incident.Status.TRIGGERED


def test_a_snooze_button_snoozes_for_its_preset(client, app, pusher, clicked):
    response = post(client, app, *pusher.signed(click("snooze:1h")))
    assert response.json()["toast"]["type"] == "success"
    clicked.refresh_from_db()
    assert clicked.snoozed_until is not None
