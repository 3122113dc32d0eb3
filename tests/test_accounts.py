"""allauth's own sign-in by e-mail match never reaches staff or superusers, whichever provider
asks (the console's Feishu sign-in does not use it; this holds if it is ever turned on)."""

from __future__ import annotations

import pytest
from allauth.socialaccount.adapter import get_adapter
from django.test import RequestFactory

from integrations.feishu.oauth.provider import FeishuProvider
from tests.factories import FeishuAppFactory, UserFactory

pytestmark = pytest.mark.django_db


def social_login(email: str):
    request = RequestFactory().get("/")
    provider = FeishuProvider.for_app(request, FeishuAppFactory())
    info = {"open_id": "ou_1", "name": "Someone", "email": email}
    return request, provider.sociallogin_from_response(request, info)


@pytest.mark.parametrize(
    "privilege", [{"is_staff": True}, {"is_superuser": True}], ids=["staff", "superuser"]
)
def test_it_never_authenticates_staff_or_superusers_by_email(settings, privilege):
    settings.SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
    UserFactory(username="root", email="root@example.com", **privilege)
    request, login = social_login("root@example.com")

    assert get_adapter(request).authenticate_by_email(login) is None


def test_it_still_authenticates_other_people_when_turned_on(settings):
    settings.SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
    dana = UserFactory(username="dana", email="dana@example.com")
    request, login = social_login("dana@example.com")

    assert get_adapter(request).authenticate_by_email(login) == (dana, "dana@example.com")
