"""The webhook admin: the secret shown once on creation and rotation, a test event, the notice
of a disabled endpoint, deliveries with their attempts and "send again"."""

from __future__ import annotations

import logging

import pytest
from django.contrib.messages import get_messages
from django.utils.html import escape

from oncall.models import WebhookDelivery, WebhookEndpoint
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db


def texts(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def shown_only_in_the_page(response, secret: str, caplog) -> None:
    """The secret is in the page answered, and nowhere it would be kept: not in a message
    (kept in a cookie or the session), not in a cookie, not in a log record."""
    assert response.status_code == 200
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert secret not in texts(response)
    assert secret not in str(response.cookies)
    assert secret not in caplog.text


def test_creating_shows_the_secret_once(admin_client, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    created = admin_client.post(
        "/admin/oncall/webhookendpoint/add/",
        {
            "name": "Status page",
            "url": receiver.url,
            "enabled": "on",
            "all_channels": "on",
            "event_types": ["i_new", "i_rslv"],
            "headers": "Authorization: Bearer abc",
        },
    )

    endpoint = WebhookEndpoint.objects.get()
    shown_only_in_the_page(created, endpoint.secret, caplog)
    assert endpoint.event_types == ["i_new", "i_rslv"]
    assert endpoint.headers == {"Authorization": "Bearer abc"}
    page = admin_client.get(f"/admin/oncall/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()
    assert "Bearer abc" not in page.content.decode()
    assert "Authorization (values hidden)" in page.content.decode()


def test_an_inward_url_is_refused_with_the_reason(admin_client, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    refused = admin_client.post(
        "/admin/oncall/webhookendpoint/add/",
        {"name": "x", "url": "https://0x7f000001/", "all_channels": "on", "event_types": ["i_new"]},
    )

    assert refused.status_code == 200
    assert "does not call such addresses" in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotating_and_testing_are_actions(
    admin_client, receiver, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    endpoint, old = make_endpoint(receiver.url)

    rotated = admin_client.post(
        "/admin/oncall/webhookendpoint/",
        {"action": "rotate_secrets", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    shown_only_in_the_page(rotated, endpoint.secret, caplog)
    assert endpoint.previous_secret == old

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/oncall/webhookendpoint/",
            {"action": "send_test_events", "_selected_action": [endpoint.pk]},
        )
    assert receiver.accepted()[0]["event_type"] == "test"


def test_a_disabled_endpoint_shows_why_and_its_deliveries(
    admin_client, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = make_endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/oncall/webhookendpoint/",
            {"action": "send_test_events", "_selected_action": [endpoint.pk]},
        )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_reason="Disabled automatically: every delivery failed"
    )

    page = admin_client.get(f"/admin/oncall/webhookendpoint/{endpoint.pk}/change/").content.decode()

    assert "Disabled automatically: every delivery failed" in page
    assert "recent deliveries" in page.lower()
    delivery = WebhookDelivery.objects.get()
    detail = admin_client.get(f"/admin/oncall/webhookdelivery/{delivery.pk}/change/")
    assert detail.status_code == 200
    assert escape('"event_type":"test"') in detail.content.decode()
    listed = admin_client.get(
        "/admin/oncall/webhookdelivery/?status__exact=delivered&event_type=test"
    )
    assert str(endpoint) in listed.content.decode()


def test_send_again_is_an_action(admin_client, receiver, django_capture_on_commit_callbacks):
    endpoint, _ = make_endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/oncall/webhookendpoint/",
            {"action": "send_test_events", "_selected_action": [endpoint.pk]},
        )
    first = WebhookDelivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/oncall/webhookdelivery/",
            {"action": "send_again", "_selected_action": [first.pk]},
        )

    assert WebhookDelivery.objects.filter(status="delivered").count() == 2
    assert len(receiver.received) == 2


def test_a_viewer_can_neither_rotate_nor_send(client, receiver):
    from tests.factories import staff_user

    endpoint, old = make_endpoint(receiver.url)
    client.force_login(staff_user("vic", "oncall.view_webhookendpoint"))

    client.post(
        "/admin/oncall/webhookendpoint/",
        {"action": "rotate_secrets", "_selected_action": [endpoint.pk]},
    )
    client.post(
        "/admin/oncall/webhookendpoint/",
        {"action": "send_test_events", "_selected_action": [endpoint.pk]},
    )
    button = client.post(f"/admin/oncall/webhookendpoint/{endpoint.pk}/rotate-secret/")
    page = client.get(f"/admin/oncall/webhookendpoint/{endpoint.pk}/change/").content.decode()

    assert button.status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.secret == old
    assert endpoint.previous_secret == ""
    assert not WebhookDelivery.objects.exists()
    assert "rotate-secret" not in page


def test_the_change_page_rotates_with_a_button(admin_client, receiver, caplog):
    endpoint, old = make_endpoint(receiver.url)
    url = f"/admin/oncall/webhookendpoint/{endpoint.pk}/rotate-secret/"
    page = admin_client.get(f"/admin/oncall/webhookendpoint/{endpoint.pk}/change/")
    assert url in page.content.decode()
    assert admin_client.get(url).status_code == 405  # a GET changes nothing

    rotated = admin_client.post(url)

    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [endpoint.secret, old]
    shown_only_in_the_page(rotated, endpoint.secret, caplog)
