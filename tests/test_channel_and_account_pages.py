"""The channels pages, "My account" (API tokens, linked Feishu accounts) and the sign-in and
sign-out pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from oncall.models import ApiToken, EscalationLevel, EscalationRule, Incident
from tests.factories import ChannelFactory, FeishuAppFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Incident.Status


# --- Channels ------------------------------------------------------------------------------


def test_my_channels_lists_mine_with_their_open_incidents(signed_in, channel):
    IncidentFactory(channel=channel)
    IncidentFactory(channel=channel, status=Status.ACKNOWLEDGED)
    IncidentFactory(channel=channel, snoozed_until=timezone.now() + timedelta(hours=1))
    IncidentFactory(channel=channel, status=Status.CLOSED)
    ChannelFactory(name="Someone else's channel")

    body = signed_in.get("/channels/").content.decode()

    assert channel.name in body
    assert "3 open incidents" in body
    assert "1 triggered, 1 claimed, 1 snoozed" in body
    assert "Someone else&#x27;s channel" not in body


def test_a_channel_page_shows_open_incidents_rules_and_people(signed_in, channel, responder):
    open_one = IncidentFactory(channel=channel, title="Cache miss storm")
    IncidentFactory(channel=channel, title="Old and done", status=Status.CLOSED)
    rule = EscalationRule.objects.create(channel=channel, name="Nights", position=0)
    rule.days = [5, 6]
    rule.save()
    level = EscalationLevel.objects.create(rule=rule, escalate_after_minutes=10)
    level.users.add(responder)

    body = signed_in.get(f"/channels/{channel.public_id}/").content.decode()

    assert "Cache miss storm" in body
    assert f"/incidents/{open_one.public_id}/" in body
    assert "Old and done" not in body
    assert "Nights" in body
    assert "Default" in body  # every channel's default rule
    assert "Notify Alice</li>" in body  # its only level: nothing to escalate to
    assert "Sat, Sun" in body
    people = re.search(r'<ul class="people">(.*?)</ul>', body, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", people) == ["Alice"]


def test_a_channel_page_orders_its_incidents_as_the_incident_list_does(signed_in, channel):
    older_critical = IncidentFactory(
        channel=channel, severity="critical", created_at=timezone.now() - timedelta(hours=1)
    )
    newer_info = IncidentFactory(channel=channel, severity="info")

    body = signed_in.get(f"/channels/{channel.public_id}/").content.decode()

    numbers = [int(n) for n in re.findall(r'data-number="(\d+)"', body)]
    assert numbers == [older_critical.number, newer_info.number]


def test_a_channel_of_others_is_404(client, channel, outsider):
    client.force_login(outsider)

    assert client.get(f"/channels/{channel.public_id}/").status_code == 404


def test_the_channel_page_links_staff_to_its_configuration(admin_client, channel):
    body = admin_client.get(f"/channels/{channel.public_id}/").content.decode()

    assert f"/admin/oncall/channel/{channel.pk}/change/" in body


def test_the_channel_page_costs_a_fixed_number_of_queries(
    signed_in, channel, django_assert_max_num_queries
):
    for _ in range(30):
        IncidentFactory(channel=channel)
    for position in range(5):
        rule = EscalationRule.objects.create(channel=channel, name=f"R{position}", position=1)
        EscalationLevel.objects.create(rule=rule).users.add(UserFactory())

    # 16: maintenance windows (oncall.noise), and one prefetch per chat platform (Feishu's
    # and DingTalk's group targets): fixed, whatever the number of rules and levels
    with django_assert_max_num_queries(16):
        assert signed_in.get(f"/channels/{channel.public_id}/").status_code == 200


# --- API tokens ----------------------------------------------------------------------------


def created_key(response) -> str:
    match = re.search(r'id="token-key" value="([^"]+)"', response.content.decode())
    assert match
    return match.group(1)


def test_a_new_token_is_shown_once_and_works_with_the_api(signed_in, responder):
    response = signed_in.post("/account/tokens/", {"name": "terraform"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = created_key(response)
    token = ApiToken.objects.get(user=responder)
    assert token.name == "terraform"
    assert key not in token.key_hash
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/incidents/").status_code == 200
    # The account page lists it by name and prefix, never the key.
    page = signed_in.get("/account/").content.decode()
    assert "terraform" in page
    assert token.prefix in page
    assert key not in page


def test_a_token_needs_a_name(signed_in, responder):
    response = signed_in.post("/account/tokens/", {"name": "  "})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_asks_then_the_token_stops_working(signed_in, responder):
    token, key = ApiToken.issue(responder, "laptop")

    confirm = signed_in.get(f"/account/tokens/{token.public_id}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke the token “laptop”?" in confirm.content.decode()
    assert ApiToken.objects.filter(pk=token.pk).exists()

    done = signed_in.post(f"/account/tokens/{token.public_id}/revoke/")
    assert done.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/incidents/").status_code == 401


def test_nobody_sees_or_revokes_someone_elses_token(signed_in):
    token, _key = ApiToken.issue(UserFactory(username="bob"), "bob's")

    assert signed_in.get(f"/account/tokens/{token.public_id}/revoke/").status_code == 404
    assert signed_in.post(f"/account/tokens/{token.public_id}/revoke/").status_code == 404
    assert "bob&#x27;s" not in signed_in.get("/account/").content.decode()
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_token_forms_need_the_csrf_token(responder):
    client = Client(enforce_csrf_checks=True)
    client.force_login(responder)

    assert client.post("/account/tokens/", {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


# --- Linked Feishu accounts on "My account" --------------------------------------------------


def test_my_account_shows_each_apps_link(signed_in, responder):
    from integrations.feishu.models import LinkedAccount

    linked = FeishuAppFactory(name="Ops bot")
    FeishuAppFactory(name="Payments bot")
    LinkedAccount.objects.create(user=responder, app=linked, open_id="ou_1", name="Alice Chen")

    body = signed_in.get("/account/").content.decode()

    assert "Ops bot" in body
    assert "linked as Alice Chen" in body
    assert "Payments bot" in body
    assert "not linked: its cards cannot reach you" in body
    assert f"/feishu/{linked.public_id}/link/" in body
    assert f"?unlink={linked.public_id}" in body


# --- Sign in and out -------------------------------------------------------------------------


def test_the_sign_in_page_offers_feishu_and_no_sign_up(client):
    app = FeishuAppFactory(name="Ops bot")
    FeishuAppFactory(name="Disabled bot", enabled=False)

    body = client.get("/accounts/login/?next=/incidents/").content.decode()

    assert "Sign in with Feishu (Ops bot)" in body
    assert f"/feishu/{app.public_id}/web/?next=%2Fincidents%2F" in body
    assert "Disabled bot" not in body
    assert "sign up" not in body.lower()
    assert 'autocomplete="current-password"' in body


def test_signing_in_with_a_password_lands_on_the_incident_list(client):
    UserFactory(username="carol", password="correct horse battery staple")

    response = client.post(
        "/accounts/login/", {"login": "carol", "password": "correct horse battery staple"}
    )

    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == "/incidents/"


def test_a_wrong_password_is_said_on_the_page(client):
    UserFactory(username="carol", password="correct horse battery staple")

    response = client.post("/accounts/login/", {"login": "carol", "password": "wrong"})

    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_signing_out_is_a_post(signed_in):
    assert "Sign out?" in signed_in.get("/accounts/logout/").content.decode()
    assert signed_in.get("/incidents/").status_code == 200

    signed_in.post("/accounts/logout/")

    assert signed_in.get("/incidents/").status_code == 302
