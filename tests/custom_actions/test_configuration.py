"""Configuring custom actions and link integrations through the API: the outbound guard and the
template checks at save, write-only headers, a secret shown once and rotated with an overlap,
at most three links per channel, the same permissions as other channel configuration."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from oncall.custom_actions import calls
from oncall.models import CustomAction, LinkIntegration
from oncall.webhooks import signing
from tests.custom_actions.conftest import make_action
from tests.custom_actions.receiver import Receiver
from tests.factories import ChannelFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTIONS = "/api/v1/incident-actions/"
LINKS = "/api/v1/channel-links/"
# Every spelling of an inward address the outbound guard knows (tests/test_outbound.py).
INWARD = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://017700000001/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/hook",
    "http://0/hook",
    "http://localhost.test/hook",
]


@pytest.fixture(autouse=True)
def nothing_allowed(offered, settings):
    """No inward network allowed: the guard's own rule, as on a fresh install."""
    settings.OUTBOUND_ALLOWED_NETWORKS = []


@pytest.fixture
def admin_api(db) -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def fake_public(fake_dns):
    fake_dns.answers["hooks.example.com"] = ["93.184.216.34"]
    fake_dns.answers["localhost.test"] = ["127.0.0.1"]
    return fake_dns


def fields(response) -> dict:
    """The fields a 400 names, with their reasons."""
    return response.json()["error"]["fields"]


def new_action(api: APIClient, channel, **fields) -> dict:
    body = {
        "name": "Roll back",
        "channels": [str(channel.public_id)],
        "url": "https://hooks.example.com/rollback?team=sre",
        "headers": {"Authorization": "Bearer s3cret"},
        **fields,
    }
    return api.post(ACTIONS, body, format="json")


# --- Actions --------------------------------------------------------------------------------


def test_an_action_is_created_with_its_secret_shown_once(admin_api, channel, fake_public):
    response = new_action(admin_api, channel, icon="⏪", colour="#d83931", confirm=True)

    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["signing_secret"].startswith("whsec_")
    assert created["header_names"] == ["Authorization"]
    assert "headers" not in created
    assert "s3cret" not in json.dumps(created).replace(created["signing_secret"], "")
    shown = admin_api.get(f"{ACTIONS}{created['id']}/").json()
    assert shown["signing_secret"] is None
    assert "s3cret" not in json.dumps(shown)


def test_headers_and_the_secret_are_encrypted_at_rest(admin_api, channel, fake_public):
    from django.db import connection

    created = new_action(admin_api, channel).json()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT headers_json, signing_secret FROM oncall_customaction WHERE public_id = %s",
            [created["id"].replace("-", "") if connection.vendor == "sqlite" else created["id"]],
        )
        headers, secret = cursor.fetchone()
    assert "s3cret" not in headers
    assert headers.startswith("v1:")
    assert secret.startswith("v1:")
    assert created["signing_secret"] not in secret


@pytest.mark.parametrize("url", INWARD)
def test_every_inward_spelling_is_refused_at_save(admin_api, channel, fake_public, url):
    response = new_action(admin_api, channel, url=url)

    assert response.status_code == 400
    assert "url" in fields(response)
    assert not CustomAction.objects.exists()


def test_a_template_body_is_checked_at_save(admin_api, channel, fake_public):
    broken = new_action(
        admin_api, channel, body_kind="template", body_template='{"t": "{{ Titel }}"}'
    )
    assert broken.status_code == 400
    assert "Titel" in str(fields(broken)["body_template"])
    not_json = new_action(admin_api, channel, body_kind="template", body_template="{{ Title }}")
    assert not_json.status_code == 400
    assert "not JSON" in str(fields(not_json)["body_template"])
    empty = new_action(admin_api, channel, body_kind="template", body_template="")
    assert empty.status_code == 400
    good = new_action(
        admin_api,
        channel,
        body_kind="template",
        body_template='{"text": "{{ Title }} on {{ Labels.service }}"}',
    )
    assert good.status_code == 201, good.json()


def test_a_header_the_console_sets_or_a_broken_one_is_refused(admin_api, channel, fake_public):
    for headers in ({"webhook-signature": "x"}, {"X-A": "a\r\nHost: evil"}, {"bad name": "x"}):
        response = new_action(admin_api, channel, headers=headers)
        assert response.status_code == 400, headers
        assert "headers" in fields(response)


def test_a_channel_offers_at_most_five_actions(admin_api, channel, fake_public):
    for n in range(5):
        assert new_action(admin_api, channel, name=f"A{n}").status_code == 201
    response = new_action(admin_api, channel, name="Sixth")
    assert response.status_code == 400
    assert "already offers 5 custom actions" in str(fields(response))


def test_the_preview_renders_a_body_on_the_sample(admin_api):
    response = admin_api.post(
        f"{ACTIONS}preview/",
        {"body_template": '{"t": "{{ Title }}"}', "content_type": "application/json"},
        format="json",
    )
    assert response.status_code == 200
    assert json.loads(response.json()["text"])["t"] == "Disk 95% full on db-1"


def test_a_json_body_escapes_what_it_prints(channel):
    from oncall.custom_actions.templates import render_body

    incident = IncidentFactory(channel=channel, title='He said "stop"\n')
    text = render_body('{"t": "{{ Title }}"}', "application/json", incident)
    assert json.loads(text) == {"t": 'He said "stop"\n'}


def test_rotation_keeps_the_old_secret_signing_during_the_overlap(admin_api, channel, fake_public):
    created = new_action(admin_api, channel).json()
    old = created["signing_secret"]

    rotated = admin_api.post(f"{ACTIONS}{created['id']}/rotate-secret/").json()

    new = rotated["signing_secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert rotated["previous_secret_until"] is not None
    action = CustomAction.objects.get(public_id=created["id"])
    headers = signing.sign(action.signing_secrets(), "msg_1", b"{}")
    for secret in (old, new):
        Webhook(secret).verify(b"{}", headers)
    from datetime import timedelta

    from django.utils import timezone

    later = timezone.now() + timedelta(hours=25)
    headers = signing.sign(action.signing_secrets(later), "msg_2", b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(b"{}", headers)


def test_members_read_their_channels_actions_and_change_nothing(channel, fake_public):
    action = CustomAction.objects.create(name="Roll back", url="https://hooks.example.com/r")
    action.channels.add(channel)
    CustomAction.objects.create(name="Other", url="https://hooks.example.com/o").channels.add(
        ChannelFactory(name="Other")
    )
    member = UserFactory(username="bob")
    channel.members.add(member)
    api = APIClient()
    api.force_authenticate(member)

    listed = api.get(ACTIONS).json()["results"]
    assert [a["name"] for a in listed] == ["Roll back"]
    assert new_action(api, channel).status_code == 403
    assert api.delete(f"{ACTIONS}{action.public_id}/").status_code == 403


def test_staff_see_an_action_offered_in_no_channel(admin_api, fake_public):
    CustomAction.objects.create(name="Parked", url="https://hooks.example.com/p")

    assert [a["name"] for a in admin_api.get(ACTIONS).json()["results"]] == ["Parked"]


def test_staff_with_the_permission_may_add_one(channel, fake_public):
    staff = UserFactory(username="ops", is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="add_customaction"),
        Permission.objects.get(codename="view_customaction"),
    )
    api = APIClient()
    api.force_authenticate(staff)
    assert new_action(api, channel).status_code == 201


def test_the_call_sends_the_actions_headers_but_not_over_the_consoles(settings, channel):
    """Headers stored before a rule refused them (written past the checks here) are sent, but
    never in place of the console's: the signature, its id, the content type and the host stay
    its own."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with Receiver() as receiver:
        action = make_action(channel, receiver)
        CustomAction.objects.filter(pk=action.pk).update(
            headers_json=json.dumps(
                {
                    "Authorization": "Bearer t",
                    "Webhook-Id": "forged",
                    "webhook-signature": "v1,forged",
                    "Content-Type": "text/evil",
                    "Host": "intranet.example.com",
                }
            )
        )
        action.refresh_from_db()

        answer = calls.call(action, b'{"ok": 1}', "msg_console", timezone.now())

    assert answer.ok
    (call,) = receiver.calls
    assert call.headers["authorization"] == "Bearer t"
    assert call.headers["webhook-id"] == "msg_console"
    assert call.headers["content-type"] == "application/json"
    assert call.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert call.verified


# --- Links ----------------------------------------------------------------------------------


def new_link(api: APIClient, channel, template: str, name: str = "Dashboard"):
    body = {"channel": str(channel.public_id), "name": name, "url_template": template}
    return api.post(LINKS, body, format="json")


def test_a_channel_has_at_most_three_links(admin_api, channel):
    for n in range(3):
        response = new_link(admin_api, channel, f"https://grafana.example.com/d/{n}", f"L{n}")
        assert response.status_code == 201, response.json()

    response = new_link(admin_api, channel, "https://grafana.example.com/d/4", "Fourth")

    assert response.status_code == 400
    assert "at most 3 link integrations" in str(fields(response)["channel"])
    assert LinkIntegration.objects.count() == 3
    assert new_link(admin_api, ChannelFactory(), "https://x.example.com/").status_code == 201


@pytest.mark.parametrize(
    "template",
    [
        "javascript:alert(1)",
        "ftp://files.example.com/{{ Num }}",
        "{{ Labels.url }}",
        "//grafana.example.com/d",
        "https://{{ Labels.host }}/d",
        "https://grafana.example.com/d?s={{ Labels.service",
        "https://grafana.example.com/d?s={{ Lables.service }}",
    ],
)
def test_a_link_template_is_checked_at_save(admin_api, channel, template):
    response = new_link(admin_api, channel, template)
    assert response.status_code == 400
    assert "url_template" in fields(response)


def test_links_are_readable_by_members_and_filtered_by_channel(admin_api, channel):
    new_link(admin_api, channel, "https://grafana.example.com/d/a")
    other = ChannelFactory(name="Other")
    new_link(admin_api, other, "https://grafana.example.com/d/b")
    member = UserFactory(username="bob")
    channel.members.add(member)
    api = APIClient()
    api.force_authenticate(member)

    assert [link["url_template"] for link in api.get(LINKS).json()["results"]] == [
        "https://grafana.example.com/d/a"
    ]
    assert (
        admin_api.get(f"{LINKS}?channel={other.public_id}").json()["results"][0]["url_template"]
        == "https://grafana.example.com/d/b"
    )
    assert new_link(api, channel, "https://grafana.example.com/d/c").status_code == 403


def test_a_content_type_is_a_media_type(admin_api, channel, fake_public):
    response = new_action(
        admin_api,
        channel,
        body_kind="template",
        body_template="{{ Title }}",
        content_type="text/plain\r\nX-Evil: 1",
    )
    assert response.status_code == 400
    assert "content_type" in fields(response)
    good = new_action(
        admin_api,
        channel,
        body_kind="template",
        body_template="{{ Title }}",
        content_type="text/plain; charset=utf-8",
    )
    assert good.status_code == 201, good.json()
