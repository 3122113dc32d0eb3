"""``manage.py sandbox_seed``: a demo tenant for the Feishu sandbox, safe to run again.

Six people, the app "On-call demo", and two group chats: "SRE on-call" already has the demo
app's bot, "Database team" does not, so that the walkthrough "add the bot to a chat on the
sandbox page, then sync chats in the console" works. Running it again changes nothing that
exists (people are found by email, chats and the app by name), except credentials passed as
options. Secrets are never printed: the sandbox's app page shows them.

With ``FEISHU_SANDBOX_ENABLED`` off it does nothing and says nothing, so that ``dev.py up`` can
always run it and leave the setting's parsing (``*_FILE`` variables included) to the settings.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from integrations.feishu_sandbox.models import SandboxApp, SandboxChat, SandboxUser

APP_NAME = "On-call demo"
PEOPLE = [
    ("Alice Chen", "alice@example.com", "+8613800000001"),
    ("Bob Li", "bob@example.com", "+8613800000002"),
    ("Carol Wang", "carol@example.com", "+8613800000003"),
    ("Dave Zhang", "dave@example.com", "+8613800000004"),
    ("Erin Liu", "erin@example.com", "+8613800000005"),
    ("Frank Zhao", "frank@example.com", "+8613800000006"),
]
# (name, description, member emails, whether the demo app's bot is already in it)
CHATS = [
    ("SRE on-call", "Alerts and incidents for the SRE rotation.", PEOPLE[:4], True),
    ("Database team", "The database team's group.", PEOPLE[3:], False),
]


class Command(BaseCommand):
    help = "Create (or keep) the Feishu sandbox's demo people, chats and app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--app-id", help="A fixed App ID for the demo app, e.g. cli_demo0001")
        parser.add_argument("--app-secret", help="A fixed (fake) App Secret for the demo app")
        parser.add_argument(
            "--console-url",
            help="The console's base URL, to print where to register the demo app there",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.FEISHU_SANDBOX_ENABLED:
            return
        app = self.seed(options.get("app_id"), options.get("app_secret"))
        self.report(app, options.get("console_url"))

    @transaction.atomic
    def seed(self, app_id: str | None, app_secret: str | None) -> SandboxApp:
        people = {email: seed_person(name, email, mobile) for name, email, mobile in PEOPLE}
        app = seed_app(app_id, app_secret)
        for name, description, members, with_bot in CHATS:
            seed_chat(name, description, [people[email] for _, email, _ in members], app, with_bot)
        return app

    def report(self, app: SandboxApp, console_url: str | None) -> None:
        self.stdout.write(f"Feishu sandbox on {settings.FEISHU_SANDBOX_BASE_URL}/")
        self.stdout.write(self.style.SUCCESS(f"Sandbox app {app.name!r}: App ID {app.app_id}"))
        self.stdout.write(
            "Its App Secret, Verification Token and Encrypt Key are on the sandbox's pages."
        )
        if console_url:
            self.stdout.write(
                f"Next: in the console ({console_url.rstrip('/')}/admin/), add a Feishu app with "
                "platform Sandbox and these credentials, then paste its event, card and OAuth "
                "redirect URLs into the sandbox's app page."
            )


def seed_person(name: str, email: str, mobile: str) -> SandboxUser:
    person, _ = SandboxUser.objects.get_or_create(
        email=email, defaults={"name": name, "mobile": mobile}
    )
    return person


def seed_app(app_id: str | None, app_secret: str | None) -> SandboxApp:
    """The demo app; its credentials are generated once unless fixed by the options."""
    app = SandboxApp.objects.filter(name=APP_NAME).first() or SandboxApp(name=APP_NAME)
    if app_id:
        app.app_id = app_id
    if app_secret:
        app.app_secret = app_secret
    # The console's URLs hold its own app's public id, unknown here: the admin pastes them.
    app.save()
    return app


def seed_chat(
    name: str, description: str, members: list[SandboxUser], app: SandboxApp, with_bot: bool
) -> SandboxChat:
    chat = SandboxChat.objects.filter(name=name, disbanded=False).first()
    if chat is not None:
        return chat
    chat = SandboxChat.objects.create(name=name, description=description, owner=members[0])
    chat.members.add(*members)
    if with_bot:
        chat.bots.add(app)
    return chat
