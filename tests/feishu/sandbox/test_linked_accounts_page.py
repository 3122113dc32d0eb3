"""The linked-accounts page (``/account/feishu/``): a person's own links, one row per enabled
app, with Link / Switch account (the OAuth round trip) and Unlink (confirmed, POST, CSRF)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from integrations.feishu.models import FeishuApp, LinkedAccount, Platform
from tests import factories

PAGE = "/account/feishu/"
PASSWORD = "correct horse battery staple"


def make_app(name: str, **fields) -> FeishuApp:
    fields = {"platform": Platform.FEISHU, "app_id": f"cli_{name.lower()}"} | fields
    return FeishuApp.objects.create(
        name=name, app_secret="s3cret-value", verification_token="vt", **fields
    )


def link_url(app: FeishuApp) -> str:
    return reverse("feishu:link", args=[app.public_id]) + "?next=/account/feishu/"


@pytest.fixture
def person(db):
    return factories.UserFactory(username="alice", first_name="Alice")


@pytest.fixture
def signed_in(client: Client, person) -> Client:
    client.force_login(person)
    return client


@pytest.fixture
def ops_app(db) -> FeishuApp:
    return make_app("Ops Feishu")


@pytest.fixture
def lark_app(db) -> FeishuApp:
    return make_app("Global Lark", platform=Platform.LARK)


def test_it_sends_anonymous_visitors_to_the_console_sign_in(client: Client, db):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={PAGE}"


def test_it_lists_every_enabled_app_with_a_link_button_when_not_linked(
    signed_in: Client, ops_app, lark_app
):
    make_app("Retired", enabled=False)

    response = signed_in.get(PAGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ops Feishu" in html
    assert "Global Lark" in html
    assert "Retired" not in html
    assert f'href="{link_url(ops_app)}"' in html
    assert f'href="{link_url(lark_app)}"' in html
    assert "cards reach you" in html
    assert "the buttons on those cards know who you are" in html


def test_it_shows_the_link_with_name_avatar_short_open_id_and_switch_account(
    signed_in: Client, person, ops_app
):
    open_id = "ou_0123456789abcdef0123456789abcdef"
    LinkedAccount.objects.create(
        user=person,
        app=ops_app,
        open_id=open_id,
        name="Alice Chen",
        avatar_url="https://example.com/avatar/alice.png",
    )

    html = signed_in.get(PAGE).content.decode()

    assert "Alice Chen" in html
    assert 'src="https://example.com/avatar/alice.png"' in html
    assert "ou_0123…cdef" in html
    assert re.search(
        rf'<a class="button" href="{re.escape(link_url(ops_app))}">Switch account', html
    )
    assert f'href="?unlink={ops_app.public_id}"' in html
    assert ">Link<" not in html


def test_it_shows_only_the_signed_in_persons_links(signed_in: Client, ops_app):
    someone_else = factories.UserFactory(username="bob")
    LinkedAccount.objects.create(user=someone_else, app=ops_app, open_id="ou_bob", name="Bob Li")

    html = signed_in.get(PAGE).content.decode()

    assert "Bob Li" not in html
    assert "ou_bob" not in html
    assert f'href="{link_url(ops_app)}"' in html


def test_it_says_so_when_no_app_is_set_up(signed_in: Client):
    html = signed_in.get(PAGE).content.decode()

    assert "No Feishu or Lark app is set up" in html


def test_unlink_asks_for_confirmation_before_removing_anything(signed_in: Client, person, ops_app):
    LinkedAccount.objects.create(user=person, app=ops_app, open_id="ou_alice", name="Alice Chen")

    response = signed_in.get(PAGE, {"unlink": str(ops_app.public_id)})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Unlink your Feishu account from Ops Feishu?" in html
    assert 'method="post"' in html
    assert "csrfmiddlewaretoken" in html
    assert f'name="app" value="{ops_app.public_id}"' in html
    assert LinkedAccount.objects.filter(user=person).exists()


def test_unlink_removes_the_persons_link_and_says_so(signed_in: Client, person, ops_app, lark_app):
    LinkedAccount.objects.create(user=person, app=ops_app, open_id="ou_alice_ops")
    LinkedAccount.objects.create(user=person, app=lark_app, open_id="ou_alice_lark")

    response = signed_in.post(PAGE, {"app": str(ops_app.public_id)}, follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    assert list(LinkedAccount.objects.values_list("open_id", flat=True)) == ["ou_alice_lark"]
    html = response.content.decode()
    assert "no longer linked to Ops Feishu" in html
    assert f'href="{link_url(ops_app)}"' in html


def test_unlink_cannot_remove_someone_elses_link(signed_in: Client, ops_app):
    bob = factories.UserFactory(username="bob")
    LinkedAccount.objects.create(user=bob, app=ops_app, open_id="ou_bob")

    response = signed_in.post(PAGE, {"app": str(ops_app.public_id)}, follow=True)

    assert LinkedAccount.objects.filter(user=bob).exists()
    assert "There is no linked account to remove there." in response.content.decode()


@pytest.mark.parametrize("value", ["", "not-a-uuid", "6f1c1a9e-0000-4000-8000-000000000000"])
def test_unlink_of_an_unknown_app_changes_nothing(signed_in: Client, person, ops_app, value):
    LinkedAccount.objects.create(user=person, app=ops_app, open_id="ou_alice")

    confirm = signed_in.get(PAGE, {"unlink": value})
    post = signed_in.post(PAGE, {"app": value})

    assert confirm.status_code == post.status_code == 302
    assert LinkedAccount.objects.filter(user=person).count() == 1


def test_unlink_needs_the_csrf_token(person, ops_app):
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    LinkedAccount.objects.create(user=person, app=ops_app, open_id="ou_alice")

    response = client.post(PAGE, {"app": str(ops_app.public_id)})

    assert response.status_code == 403
    assert LinkedAccount.objects.filter(user=person).exists()
