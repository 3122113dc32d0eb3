"""Custom actions and link integrations in the admin: the guard and the checks at save with
their reasons, headers write-only, the secret shown once on a page of its own, at most three
links per channel."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from oncall.models import CustomAction, LinkIntegration
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

ADD_ACTION = "admin:oncall_customaction_add"


def action_form(channel, **fields) -> dict:
    return {
        "name": "Roll back",
        "description": "",
        "enabled": "on",
        "channels": [channel.pk],
        "style": "danger",
        "url": "http://127.0.0.1:9/rollback",
        "method": "POST",
        "headers": "Authorization: Bearer s3cret\nX-Team: sre",
        "body_kind": "payload",
        "body_template": "",
        "content_type": "application/json",
        **fields,
    }


def test_an_admin_adds_an_action_and_sees_its_secret_once(admin_client, channel):
    response = admin_client.post(reverse(ADD_ACTION), action_form(channel))

    assert response.status_code == 200
    action = CustomAction.objects.get()
    page = response.content.decode()
    assert action.signing_secret in page
    assert action.headers == {"Authorization": "Bearer s3cret", "X-Team": "sre"}
    change = admin_client.get(reverse("admin:oncall_customaction_change", args=[action.pk]))
    shown = change.content.decode()
    assert "Authorization, X-Team" in shown
    assert "s3cret" not in shown
    assert action.signing_secret not in shown
    assert "&quot;event_type&quot;: &quot;i_custom&quot;" in shown


def test_editing_without_headers_keeps_them(admin_client, channel):
    admin_client.post(reverse(ADD_ACTION), action_form(channel))
    action = CustomAction.objects.get()

    admin_client.post(
        reverse("admin:oncall_customaction_change", args=[action.pk]),
        action_form(channel, name="Roll back v2", headers=""),
    )

    action.refresh_from_db()
    assert action.name == "Roll back v2"
    assert action.headers["Authorization"] == "Bearer s3cret"


def test_an_inward_url_is_refused_with_its_reason(admin_client, channel, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    response = admin_client.post(
        reverse(ADD_ACTION), action_form(channel, url="http://0x7f000001/rollback")
    )

    assert "a loopback address (this machine)" in response.content.decode()
    assert not CustomAction.objects.exists()


def test_a_broken_body_template_is_refused_with_its_reason(admin_client, channel):
    response = admin_client.post(
        reverse(ADD_ACTION),
        action_form(channel, body_kind="template", body_template='{"t": "{{ Title }"}'),
    )

    assert "The template fails on the sample incident" in response.content.decode()
    assert not CustomAction.objects.exists()


def test_rotating_shows_the_new_secret_once(admin_client, channel):
    admin_client.post(reverse(ADD_ACTION), action_form(channel))
    action = CustomAction.objects.get()
    old = action.signing_secret

    response = admin_client.post(
        reverse("admin:oncall_customaction_changelist"),
        {"action": "rotate_secrets", "_selected_action": [action.pk]},
    )

    action.refresh_from_db()
    assert action.signing_secret != old
    assert action.signing_secrets() == [action.signing_secret, old]
    assert action.signing_secret in response.content.decode()


def test_the_lists_render_with_a_channel_filter(admin_client, channel):
    admin_client.post(reverse(ADD_ACTION), action_form(channel))
    IncidentFactory(channel=channel)
    for model in ("customaction", "linkintegration"):
        url = reverse(f"admin:oncall_{model}_changelist")
        key = "channels__id__exact" if model == "customaction" else "channel__id__exact"
        assert admin_client.get(f"{url}?{key}={channel.pk}").status_code == 200


def test_a_fourth_link_is_refused_in_the_admin_with_its_reason(admin_client, channel):
    add = reverse("admin:oncall_linkintegration_add")
    for n in range(3):
        form = {
            "channel": channel.pk,
            "name": f"L{n}",
            "url_template": f"https://{n}.example.com/",
            "position": n,
        }
        assert admin_client.post(add, form).status_code == 302
    fourth = {"channel": channel.pk, "name": "4", "url_template": "https://4.example.com/"}
    response = admin_client.post(add, {**fourth, "position": 4})
    assert "at most 3 link integrations" in response.content.decode()
    assert LinkIntegration.objects.count() == 3


def test_a_link_shows_what_it_makes_of_the_sample(admin_client, channel):
    link = LinkIntegration.objects.create(
        channel=channel, name="Grafana", url_template="https://g.example.com/{{ Labels.service }}"
    )
    page = admin_client.get(reverse("admin:oncall_linkintegration_change", args=[link.pk]))
    assert "https://g.example.com/postgres" in page.content.decode()


def test_a_viewer_cannot_rotate_the_secret(client, channel):
    from tests.factories import staff_user

    action = CustomAction.objects.create(name="Roll back", url="http://127.0.0.1:9/rollback")
    old = action.signing_secret
    client.force_login(staff_user("vic", "oncall.view_customaction"))

    response = client.post(
        reverse("admin:oncall_customaction_changelist"),
        {"action": "rotate_secrets", "_selected_action": [action.pk]},
    )

    button = client.post(reverse("admin:oncall_customaction_rotate_secret", args=[action.pk]))

    assert button.status_code == 403
    action.refresh_from_db()
    assert action.signing_secret == old
    assert action.previous_secret == ""
    assert "Signing secrets" not in response.content.decode()


def test_the_change_page_rotates_with_a_button(admin_client, channel):
    action = CustomAction.objects.create(name="Roll back", url="http://127.0.0.1:9/rollback")
    old = action.signing_secret
    url = reverse("admin:oncall_customaction_rotate_secret", args=[action.pk])
    page = admin_client.get(reverse("admin:oncall_customaction_change", args=[action.pk]))
    assert url in page.content.decode()

    rotated = admin_client.post(url)

    action.refresh_from_db()
    assert action.signing_secrets() == [action.signing_secret, old]
    assert action.signing_secret in rotated.content.decode()


def test_a_sixth_action_in_a_channel_is_refused_in_the_admin_with_its_reason(admin_client, channel):
    for n in range(5):
        assert (
            admin_client.post(reverse(ADD_ACTION), action_form(channel, name=f"A{n}")).context[
                "title"
            ]
            == "Signing secrets"
        )

    refused = admin_client.post(reverse(ADD_ACTION), action_form(channel, name="Sixth"))

    assert "already offers 5 custom actions" in refused.content.decode()
    assert CustomAction.objects.count() == 5
    # Editing one of the five keeps it where it is: it does not count itself.
    first = CustomAction.objects.get(name="A0")
    change = reverse("admin:oncall_customaction_change", args=[first.pk])
    admin_client.post(change, action_form(channel, name="A0 renamed", headers=""))
    assert CustomAction.objects.filter(name="A0 renamed").exists()


def test_the_model_says_when_a_channel_is_full(channel):
    for n in range(5):
        CustomAction.objects.create(name=f"A{n}", url="http://127.0.0.1:9/").channels.add(channel)

    with pytest.raises(ValidationError) as full:
        CustomAction(name="Sixth", url="http://127.0.0.1:9/").check_room_in([channel])

    assert "already offers 5" in str(full.value.message_dict["channels"])
    CustomAction.objects.get(name="A0").check_room_in([channel])  # one of the five: room
