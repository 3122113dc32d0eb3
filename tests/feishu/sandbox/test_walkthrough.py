"""The README's Feishu walkthrough, page by page, as an admin does it in the embedded run: the
sandbox's demo tenant, a Sandbox app created in the admin, "check configuration", the bot added
to a chat on the sandbox's page, "sync chats now", and a wrong secret reported in Feishu's words."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse

from integrations.feishu.models import FeishuApp, FeishuChat
from integrations.feishu_sandbox.models import SandboxApp, SandboxChat
from tests.feishu.sandbox.world import LOOPBACK_NETWORKS


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_walkthrough(admin_client, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.FEISHU_SANDBOX_BASE_URL = live_server.url + "/sandbox/feishu"
    # As `dev.py up` does: the sandbox on loopback is allowed past the outbound guard.
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK_NETWORKS
    call_command("sandbox_seed", "--console-url", live_server.url)
    demo = SandboxApp.objects.get(name="On-call demo")

    # 1. The sandbox's developer console shows the credentials to copy.
    sandbox_home = admin_client.get(reverse("feishu_sandbox:home")).content.decode()
    for value in (demo.app_id, demo.app_secret, demo.verification_token, demo.encrypt_key):
        assert value in sandbox_home

    # 2. The admin creates the integration with exactly those fields.
    response = admin_client.post(
        reverse("admin:integrations_feishuapp_add"),
        {
            "name": "Demo tenant",
            "platform": "sandbox",
            "app_id": demo.app_id,
            "app_secret": demo.app_secret,
            "verification_token": demo.verification_token,
            "encrypt_key": demo.encrypt_key,
        },
    )
    assert response.status_code == 302
    app = FeishuApp.objects.get(name="Demo tenant")
    change_url = reverse("admin:integrations_feishuapp_change", args=[app.pk])

    # 3. Check configuration: success, and the chat the bot is already in.
    response = admin_client.post(reverse("admin:integrations_feishuapp_check", args=[app.pk]))
    message = flashed(response)[-1]
    assert message.startswith("Demo tenant: Credentials work.")
    assert "SRE on-call" in message
    assert "Database team" not in message

    # 4. On the sandbox's chat page, the bot joins "Database team".
    database_team = SandboxChat.objects.get(name="Database team")
    response = admin_client.post(
        reverse("feishu_sandbox:chat-bots", args=[database_team.chat_id]),
        {"app": demo.app_id, "action": "add", "operator": ""},
    )
    assert response.status_code == 302

    # 5. Sync chats now: the console lists it.
    response = admin_client.post(reverse("admin:integrations_feishuapp_sync", args=[app.pk]))
    message = flashed(response)[-1]
    assert "2 chats with the bot, 1 new" in message
    chat_list = admin_client.get(
        reverse("admin:integrations_feishuchat_changelist") + f"?app__id__exact={app.pk}"
    ).content.decode()
    assert "Database team" in chat_list
    assert FeishuChat.objects.filter(app=app, status=FeishuChat.Status.ACTIVE).count() == 2

    # 6. A wrong App Secret: the check reports Feishu's own error, and no secret.
    form = {
        "name": app.name,
        "platform": "sandbox",
        "app_id": app.app_id,
        "enabled": "on",
        "app_secret": "typo-in-the-secret",
    }
    assert admin_client.post(change_url, form).status_code == 302
    response = admin_client.post(reverse("admin:integrations_feishuapp_check", args=[app.pk]))
    message = flashed(response)[-1]
    assert "Feishu refused the App ID / App Secret" in message
    assert "Feishu code 10014" in message
    assert "typo-in-the-secret" not in message
    page = admin_client.get(change_url).content.decode()
    assert "check-failed" in page
    assert "typo-in-the-secret" not in page
