"""Custom headers of webhook endpoints and custom actions: one rule set (``oncall.webhooks.
headers``), enforced alike by the models' clean, the admin's forms and the API, for both."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from oncall.models import CustomAction, WebhookEndpoint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/in"
REFUSED = {
    "the signature's": {"webhook-signature": "v1,forged"},
    "any webhook- header": {"Webhook-Custom": "x"},
    "the content type": {"Content-Type": "text/plain"},
    "the host": {"Host": "evil.example.com"},
    "a name that is no token": {"bad name": "x"},
    "a control character": {"X-Team": "a\x1bb"},
    "a line break": {"X-Team": "a\r\nHost: evil.example.com"},
    "a value too long": {"X-Team": "x" * 4001},
    "too many": {f"X-H{n}": "x" for n in range(21)},
}
ACCEPTED = {"Authorization": "Bearer t", "X-Team": "sre\tpayments"}


@pytest.fixture(autouse=True)
def public_dns(settings, fake_dns):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    fake_dns.answers["hooks.example.com"] = ["93.184.216.34"]


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def api(root) -> APIClient:
    client = APIClient()
    client.force_authenticate(root)
    return client


def create_by_api(api: APIClient, model: type, channel, headers: dict[str, str]):
    if model is WebhookEndpoint:
        body = {"name": "Status page", "url": URL}
        return api.post("/api/v1/webhooks/", {**body, "headers": headers}, format="json")
    body = {"name": "Roll back", "url": URL, "channels": [str(channel.public_id)]}
    return api.post("/api/v1/incident-actions/", {**body, "headers": headers}, format="json")


def create_by_admin(client, model: type, channel, headers: dict[str, str]):
    lines = "\n".join(f"{name}: {value}" for name, value in headers.items())
    if model is WebhookEndpoint:
        form = {"name": "Status page", "url": URL, "all_channels": "on", "event_types": ["i_new"]}
    else:
        form = {
            "name": "Roll back",
            "channels": [channel.pk],
            "url": URL,
            "method": "POST",
            "style": "default",
            "body_kind": "payload",
            "content_type": "application/json",
        }
    add = reverse(f"admin:oncall_{model._meta.model_name}_add")
    return client.post(add, {**form, "headers": lines})


MODELS = pytest.mark.parametrize("model", [WebhookEndpoint, CustomAction])


@MODELS
@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_the_api_refuses_them_with_a_400_naming_the_field(api, channel, model, headers):
    response = create_by_api(api, model, channel, headers)

    assert response.status_code == 400
    assert "headers" in response.json()["error"]["fields"]
    assert not model.objects.exists()


@MODELS
@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_the_admin_refuses_them(client, root, channel, model, headers):
    client.force_login(root)

    response = create_by_admin(client, model, channel, headers)

    assert response.status_code == 200  # the form again, with the reason
    assert response.context["adminform"].form.errors
    assert not model.objects.exists()


@MODELS
@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_the_model_refuses_them(model, headers):
    row = model(name="x", url=URL)
    row.headers = headers

    with pytest.raises(ValidationError) as refused:
        row.full_clean(exclude=["channels"])

    assert "headers" in refused.value.message_dict


@MODELS
def test_good_ones_are_kept_on_every_surface(api, client, root, channel, model):
    assert create_by_api(api, model, channel, ACCEPTED).status_code == 201
    client.force_login(root)
    assert create_by_admin(client, model, channel, ACCEPTED).status_code == 200  # secret page

    assert [row.headers for row in model.objects.all()] == [ACCEPTED, ACCEPTED]
