"""The webhook admin: the secret shown once on creation and rotation, a test event, the notice
of a disabled endpoint, deliveries with their attempts and "send again"."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.utils.html import escape

from oncall.models import WebhookDelivery, WebhookEndpoint
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db


def texts(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_creating_shows_the_secret_once(admin_client, receiver):
    created = admin_client.post(
        "/admin/oncall/webhookendpoint/add/",
        {
            "name": "Status page",
            "url": receiver.url,
            "enabled": "on",
            "all_channels": "on",
            "event_types": ["i_new", "i_rslv"],
            "new_headers": "Authorization: Bearer abc",
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in texts(created)
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
    admin_client, receiver, django_capture_on_commit_callbacks
):
    endpoint, old = make_endpoint(receiver.url)

    rotated = admin_client.post(
        "/admin/oncall/webhookendpoint/",
        {"action": "rotate_secrets", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret in texts(rotated)
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

    endpoint.refresh_from_db()
    assert endpoint.secret == old
    assert not WebhookDelivery.objects.exists()
