"""``manage.py sandbox_seed``: the demo tenant, and that running it again changes nothing."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from integrations.feishu_sandbox.models import SandboxApp, SandboxChat, SandboxUser


def seed(*args: str) -> str:
    out = StringIO()
    call_command("sandbox_seed", *args, stdout=out)
    return out.getvalue()


def test_it_seeds_six_people_two_chats_and_the_demo_app(db):
    seed()

    app = SandboxApp.objects.get()
    assert app.name == "On-call demo"
    assert SandboxUser.objects.count() == 6
    assert SandboxUser.objects.filter(email="alice@example.com", mobile__startswith="+86").exists()
    on_call = SandboxChat.objects.get(name="SRE on-call")
    database = SandboxChat.objects.get(name="Database team")
    assert list(on_call.bots.all()) == [app]
    assert not database.bots.exists()
    assert on_call.members.count() == 4
    assert database.members.count() == 3


def test_running_it_again_changes_nothing(db):
    seed()
    app_id = SandboxApp.objects.get().app_id
    chat_ids = set(SandboxChat.objects.values_list("chat_id", flat=True))
    user_ids = set(SandboxUser.objects.values_list("user_id", flat=True))

    seed()

    assert SandboxApp.objects.get().app_id == app_id
    assert set(SandboxChat.objects.values_list("chat_id", flat=True)) == chat_ids
    assert set(SandboxUser.objects.values_list("user_id", flat=True)) == user_ids


def test_it_keeps_a_chat_the_bot_was_added_to_since(db):
    seed()
    app = SandboxApp.objects.get()
    SandboxChat.objects.get(name="Database team").bots.add(app)

    seed()

    assert SandboxChat.objects.get(name="Database team").bots.get() == app


def test_fixed_credentials_come_from_the_options_and_the_secret_is_not_printed(db):
    output = seed("--app-id", "cli_demo0000000001", "--app-secret", "fake-demo-secret-0001")

    app = SandboxApp.objects.get()
    assert (app.app_id, app.app_secret) == ("cli_demo0000000001", "fake-demo-secret-0001")
    assert "cli_demo0000000001" in output
    assert "fake-demo-secret-0001" not in output


def test_with_a_console_url_it_says_where_to_register_the_app(db):
    output = seed("--console-url", "http://127.0.0.1:8000/")

    app = SandboxApp.objects.get()
    assert "http://127.0.0.1:8000/admin/" in output
    # The console's callback URLs hold its own app's id, so the seed leaves them to the admin.
    assert (app.event_request_url, app.card_request_url, app.redirect_urls) == ("", "", [])


def test_it_does_nothing_and_says_nothing_when_the_sandbox_is_off(db, settings):
    settings.FEISHU_SANDBOX_ENABLED = False

    assert seed("--console-url", "http://127.0.0.1:8000/") == ""
    assert not SandboxApp.objects.exists()


def test_it_says_where_the_sandbox_is(db, settings):
    settings.FEISHU_SANDBOX_BASE_URL = "http://127.0.0.1:8000/sandbox/feishu"

    assert "Feishu sandbox on http://127.0.0.1:8000/sandbox/feishu/" in seed()
