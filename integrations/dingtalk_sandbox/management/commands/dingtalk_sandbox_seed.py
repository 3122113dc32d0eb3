"""``manage.py dingtalk_sandbox_seed``: one DingTalk app on the sandbox, safe to run again.

On the sandbox's side: the internal app "On-call demo", two groups, "SRE on-call" and
"Database team", without the cool app yet, and two members to sign in as. On the console's
side: the DingTalk app "DingTalk sandbox" with the platform Sandbox and the sandbox app's
credentials, as an admin would enter them (the group template's Template ID and Bot ID too, so
war rooms work), and its event subscription request URL pasted into the sandbox app. What is
left is what a person does on DingTalk: have DingTalk check the request URL, install the cool
app in a group (the sandbox's page), and "Check configuration" in the console.

Running it again changes nothing that exists (the apps and groups are found by name). Secrets
are never printed: the sandbox's app page shows them, as DingTalk's developer console does.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.dingtalk.models import DingTalkApp, Platform
from integrations.dingtalk_sandbox.models import SandboxApp, SandboxGroup, SandboxUser

APP_NAME = "On-call demo"
CONSOLE_APP_NAME = "DingTalk sandbox"
GROUPS = ["SRE on-call", "Database team"]
# Members to sign in as (the sign-in page lists them); found by name when run again.
PEOPLE = [("Alice Wang", "13800000001", "alice@example.com"), ("Bob Li", "13800000002", "")]


class Command(BaseCommand):
    help = "Create (or keep) a DingTalk sandbox app, its groups, and the console's app for it."

    def handle(self, *args: Any, **options: Any) -> None:
        sandbox_app, console_app = seed()
        self.stdout.write(f"DingTalk sandbox on {settings.DINGTALK_SANDBOX_BASE_URL}/")
        self.stdout.write(
            self.style.SUCCESS(
                f"Sandbox app {sandbox_app.name!r} (Client ID {sandbox_app.client_id}) is the "
                f"console's DingTalk app {console_app.name!r}."
            )
        )
        self.stdout.write(
            "Next: on the sandbox's app page, check the request URL; on its home page, install "
            "the cool app in a group; in the admin, Check configuration."
        )


@transaction.atomic
def seed() -> tuple[SandboxApp, DingTalkApp]:
    sandbox_app = SandboxApp.objects.filter(name=APP_NAME).first()
    if sandbox_app is None:
        sandbox_app = SandboxApp.objects.create(name=APP_NAME)
    for title in GROUPS:
        if not SandboxGroup.objects.filter(title=title).exists():
            SandboxGroup.objects.create(title=title)
    for name, mobile, email in PEOPLE:
        if not SandboxUser.objects.filter(name=name).exists():
            SandboxUser.objects.create(name=name, mobile=mobile, email=email)
    console_app = console_app_for(sandbox_app)
    if not console_app.war_room_template_id:
        # War rooms on, as the guide's step "Configure War Room" leaves the app.
        console_app.war_room_template_id = sandbox_app.group_template_id
        console_app.war_room_bot_id = sandbox_app.group_bot_id
        console_app.save(update_fields=["war_room_template_id", "war_room_bot_id"])
    if not sandbox_app.event_request_url:
        sandbox_app.event_request_url = console_app.event_url
        sandbox_app.save(update_fields=["event_request_url"])
    return sandbox_app, console_app


def console_app_for(sandbox_app: SandboxApp) -> DingTalkApp:
    """The console's app for ``sandbox_app``: found by its Client ID, else made with the
    sandbox app's credentials, as an admin would enter them."""
    existing = DingTalkApp.objects.filter(
        platform=Platform.SANDBOX, client_id=sandbox_app.client_id
    ).first()
    if existing is not None:
        return existing
    return DingTalkApp.objects.create(
        name=CONSOLE_APP_NAME,
        platform=Platform.SANDBOX,
        corp_id=sandbox_app.corp_id,
        agent_id=sandbox_app.agent_id,
        client_id=sandbox_app.client_id,
        client_secret=sandbox_app.client_secret,
        aes_key=sandbox_app.aes_key,
        signature_token=sandbox_app.signature_token,
    )
