"""One-click linking for admins: console users looked up by email through the sandbox's
``batch_get_id`` and linked to the app, with a report of who was found and who was not."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from integrations.feishu.client import errors
from integrations.feishu.models import LinkedAccount
from integrations.feishu.oauth import bulk_linking
from integrations.feishu_sandbox.models import ApiCall, Fault
from tests import factories


def user(username: str, email: str = "", **fields):
    return factories.UserFactory(
        username=username, email=email, first_name=username.capitalize(), **fields
    )


@pytest.fixture
def team(sandbox_people) -> dict:
    """Console accounts: two the directory knows (one with a differently cased email), one it
    does not, one without an email, and one deactivated."""
    return {
        "alice": user("alice", "alice@example.com"),
        "bob": user("bob", "Bob@Example.com"),
        "zoe": user("zoe", "zoe@elsewhere.example"),
        "nomail": user("nomail"),
        "gone": user("gone", "carol@example.com", is_active=False),
    }


def open_id_of(sandbox_app, person) -> str:
    return sandbox_app.open_id_of(person)


def test_it_links_the_people_feishu_finds_by_email(console_app, sandbox_app, sandbox_people, team):
    result = bulk_linking.link_by_email(console_app)

    assert result.linked == [team["alice"], team["bob"]]
    assert result.not_found == [team["zoe"]]
    assert result.without_email == [team["nomail"]]
    assert result.taken == []
    links = {link.user: link for link in LinkedAccount.objects.filter(app=console_app)}
    assert set(links) == {team["alice"], team["bob"]}
    assert links[team["alice"]].open_id == open_id_of(sandbox_app, sandbox_people["alice"])
    assert links[team["bob"]].open_id == open_id_of(sandbox_app, sandbox_people["bob"])
    assert links[team["bob"]].email == "bob@example.com"


def test_it_skips_inactive_and_already_linked_users(console_app, sandbox_people, team):
    LinkedAccount.objects.create(user=team["alice"], app=console_app, open_id="ou_earlier")

    result = bulk_linking.link_by_email(console_app)

    assert team["alice"] not in result.linked
    assert team["gone"] not in [*result.linked, *result.not_found]
    assert LinkedAccount.objects.get(user=team["alice"]).open_id == "ou_earlier"


def test_an_open_id_linked_to_another_user_is_reported_not_taken_over(
    console_app, sandbox_app, sandbox_people, team
):
    bobs_open_id = open_id_of(sandbox_app, sandbox_people["bob"])
    impostor = user("bobby", "")
    LinkedAccount.objects.create(user=impostor, app=console_app, open_id=bobs_open_id)

    result = bulk_linking.link_by_email(console_app)

    assert [(t.user, t.linked_to) for t in result.taken] == [(team["bob"], impostor)]
    assert LinkedAccount.objects.get(open_id=bobs_open_id).user == impostor


def test_people_outside_the_apps_availability_are_not_found(
    console_app, sandbox_app, sandbox_people, team
):
    sandbox_app.available_to_all = False
    sandbox_app.save()
    sandbox_app.available_users.add(sandbox_people["alice"])

    result = bulk_linking.link_by_email(console_app)

    assert result.linked == [team["alice"]]
    assert result.not_found == [team["bob"], team["zoe"]]


def test_staff_and_superusers_are_never_linked_by_email(console_app, sandbox_people):
    """Their addresses are in the directory; they link from a signed-in session instead."""
    staff = user("alice", "alice@example.com", is_staff=True)
    root = user("bob", "bob@example.com", is_superuser=True)
    carol = user("carol", "carol@example.com")

    result = bulk_linking.link_by_email(console_app)

    assert result.staff == [staff, root]
    assert result.linked == [carol]
    assert result.considered == 3
    assert list(LinkedAccount.objects.values_list("user", flat=True)) == [carol.pk]


def test_console_users_sharing_an_email_are_not_guessed_between(console_app, sandbox_people):
    twins = [user("alice", "alice@example.com"), user("alice2", "ALICE@example.com")]

    result = bulk_linking.link_by_email(console_app)

    assert result.shared_email == twins
    assert not LinkedAccount.objects.exists()


def test_nobody_to_look_up_makes_no_call(console_app, sandbox_people):
    result = bulk_linking.link_by_email(console_app)

    assert result.considered == 0
    assert not ApiCall.objects.filter(path__contains="batch_get_id").exists()


def test_a_feishu_outage_links_nobody_and_is_explained(console_app, sandbox_people, team):
    Fault.objects.create(path_prefix="/open-apis/contact/", status=503, remaining=1)

    with pytest.raises(errors.TransientError) as raised:
        bulk_linking.link_by_email(console_app)

    assert not LinkedAccount.objects.exists()
    message = bulk_linking.describe_error(raised.value)
    assert message.startswith("Feishu could not be reached")
    assert "Nothing was linked" in message


def test_a_missing_permission_is_explained_with_the_scope_to_request():
    message = bulk_linking.describe_error(
        errors.PermanentError("Access denied", code=99991672, http_status=400)
    )

    assert "contact:user.id:readonly" in message


# --- The admin action -----------------------------------------------------------------------


def run_action(admin_client: Client, app) -> list[tuple[str, str]]:
    response = admin_client.post(
        reverse("admin:integrations_feishuapp_changelist"),
        {"action": "link_by_email_action", "_selected_action": [app.pk]},
    )
    assert response.status_code == 302
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_the_admin_action_reports_who_was_found_and_who_was_not(
    admin_client, console_app, sandbox_people, team
):
    reported = run_action(admin_client, console_app)

    assert reported[0] == ("success", "Sandbox: linked 2: Alice, Bob.")
    assert reported[1][0] == "warning"
    assert reported[1][1].startswith("Sandbox: not found in Feishu by email: Zoe.")
    assert "no mobile number" in reported[1][1]
    assert reported[2] == (
        "warning",
        "Sandbox: not looked up, no email on the console account: Nomail.",
    )
    # "admin", the superuser running the action, is a console user too: never linked by email.
    assert reported[3][0] == "info"
    assert reported[3][1].startswith("Sandbox: not linked by email, staff and superusers: admin.")
    assert LinkedAccount.objects.filter(app=console_app).count() == 2


def test_the_admin_action_shows_a_feishu_error_in_plain_words(
    admin_client, console_app, sandbox_people, team
):
    Fault.objects.create(path_prefix="/open-apis/contact/", status=503, remaining=1)

    reported = run_action(admin_client, console_app)

    assert len(reported) == 1
    level, message = reported[0]
    assert level == "error"
    assert message.startswith("Sandbox: Feishu could not be reached")
    assert console_app.app_secret not in message
    assert not LinkedAccount.objects.exists()


def test_the_admin_action_leaves_a_disabled_app_alone(admin_client, console_app, team):
    console_app.enabled = False
    console_app.save()

    reported = run_action(admin_client, console_app)

    assert reported == [("warning", "Sandbox: disabled; nobody was linked.")]
    assert not LinkedAccount.objects.exists()
