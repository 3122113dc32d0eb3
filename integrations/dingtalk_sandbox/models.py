"""The sandbox's own world: the "DingTalk side" of an organisation (its internal apps with their
event subscriptions, the tokens it issued, its groups and where each app's cool app is
installed), and a record of every event it pushed.

Nothing here belongs to the console: the console only ever talks to these rows over HTTP, as it
talks to DingTalk. Secrets of sandbox apps are encrypted at rest like the console's own.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.dingtalk.client.crypto import AES_KEY_LENGTH, random_text
from oncall.crypto import EncryptedTextField


def new_corp_id() -> str:
    return "ding" + secrets.token_hex(8)


def new_client_id() -> str:
    return "ding" + random_text(16).lower()


def new_client_secret() -> str:
    return secrets.token_urlsafe(48)


def new_aes_key() -> str:
    return random_text(AES_KEY_LENGTH)


def new_signature_token() -> str:
    return random_text(24)


def new_agent_id() -> str:
    return str(3_000_000_000 + secrets.randbelow(999_999_999))


def new_open_conversation_id() -> str:
    return "cid" + random_text(22)


def new_template_id() -> str:
    return str(uuid.uuid4())


def new_bot_id() -> str:
    return "ding" + random_text(16).lower()


def new_chat_id() -> str:
    return "chat" + secrets.token_hex(16)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SandboxApp(models.Model):
    """An internal app as the DingTalk developer console holds it: its credentials and its
    event subscription (HTTP push)."""

    name = models.CharField(_("name"), max_length=120)
    corp_id = models.CharField("CorpId", max_length=64, default=new_corp_id)
    agent_id = models.CharField("AgentId", max_length=20, default=new_agent_id)
    client_id = models.CharField("Client ID", max_length=64, unique=True, default=new_client_id)
    client_secret = EncryptedTextField("Client Secret", default=new_client_secret)
    aes_key = EncryptedTextField("aes_key", default=new_aes_key)
    signature_token = EncryptedTextField("Signature Token", default=new_signature_token)
    event_request_url = models.URLField(
        _("event subscription request URL"), max_length=500, blank=True
    )
    # Events & Callbacks → push method: HTTP push to the request URL, or Stream mode (the
    # sandbox's Stream server, to whichever client of the app is connected).
    stream_mode = models.BooleanField(_("push by Stream mode"), default=False)
    # Scene Group → its published group template (for this app) and the template's group bot:
    # what the guide's "Template ID" and "Bot ID" are copied from.
    group_template_id = models.CharField(
        _("group template id"), max_length=64, default=new_template_id
    )
    group_bot_id = models.CharField(_("group bot id"), max_length=64, default=new_bot_id)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("sandbox DingTalk app")

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def cool_app_code(self) -> str:
        return f"COOLAPP-1-{self.client_id}"


class SandboxToken(models.Model):
    """An access token the sandbox issued, stored hashed; valid until ``expires_at``."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.app} until {self.expires_at}"


class SandboxGroup(models.Model):
    """A group chat of the organisation, and the apps whose cool app is installed in it."""

    open_conversation_id = models.CharField(
        max_length=64, unique=True, default=new_open_conversation_id
    )
    title = models.CharField(_("name"), max_length=120)
    installed_apps = models.ManyToManyField(SandboxApp, blank=True, related_name="groups")
    created_at = models.DateTimeField(auto_now_add=True)
    # A scene group an app made from its group template (``topapi/im/chat/scenegroup/create``):
    # the template's bot is its robot, the owner and members are userids, and ``create_uuid``
    # is the caller's dedupe id (one group per app and uuid).
    template_app = models.ForeignKey(
        SandboxApp, null=True, blank=True, on_delete=models.CASCADE, related_name="scene_groups"
    )
    robot_code = models.CharField(max_length=64, blank=True)
    chat_id = models.CharField(max_length=64, blank=True)
    owner_user_id = models.CharField(max_length=64, blank=True)
    member_user_ids = models.JSONField(default=list, blank=True)
    create_uuid = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class PushRecord(models.Model):
    """One event the sandbox pushed to an app's request URL, and how the console answered."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="pushes")
    event_type = models.CharField(max_length=64)
    url = models.URLField(max_length=500)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    # What the sandbox made of the answer: "success" decrypted, or why not.
    outcome = models.TextField(blank=True)
    seconds = models.FloatField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.url}: {'ok' if self.ok else 'failed'}"


class SandboxCardCallback(models.Model):
    """Where an app's card clicks go: the callback URL registered under a route key
    (``/topapi/im/chat/scencegroup/interactivecard/callback/register``)."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="card_callbacks")
    route_key = models.CharField(max_length=128)
    url = models.URLField(max_length=500)
    registered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "route_key"], name="one_sandbox_route_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.route_key} → {self.url}"


class SandboxCard(models.Model):
    """An interactive card an app's robot sent (``StandardCard``), to a person or a group,
    as it shows now."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="cards")
    card_biz_id = models.CharField(max_length=128)
    process_query_key = models.CharField(max_length=64)
    # A one-to-one card's receiver, or the group it went to.
    user_id = models.CharField(max_length=64, blank=True)
    group = models.ForeignKey(
        SandboxGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="cards"
    )
    route_key = models.CharField(max_length=128, blank=True)
    data = models.JSONField()
    updates = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["app", "card_biz_id"], name="one_sandbox_card_per_id")
        ]

    def __str__(self) -> str:
        return self.card_biz_id

    @property
    def receiver(self) -> str:
        return str(self.group) if self.group_id else self.user_id


# --- People and their sign-in ------------------------------------------------------------------


def new_union_id() -> str:
    return random_text(22) + "iE"


def new_user_id() -> str:
    return "manager" + str(1000 + secrets.randbelow(9000))


class SandboxUser(models.Model):
    """A member of the organisation: ``userid`` (the organisation's id), ``unionId`` (the
    same for every app of the developer), name, mobile and e-mail."""

    user_id = models.CharField("userid", max_length=64, unique=True, default=new_user_id)
    union_id = models.CharField("unionId", max_length=64, unique=True, default=new_union_id)
    name = models.CharField(_("name"), max_length=120)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("sandbox DingTalk user")

    def __str__(self) -> str:
        return self.name


class SandboxAuthCode(models.Model):
    """An authorization code the sign-in page handed to an app's redirect URL (stored hashed):
    valid for five minutes and once, as DingTalk's."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"code for {self.user} in {self.app}"


class SandboxUserToken(models.Model):
    """A person's own access token (``userAccessToken``), stored hashed."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token of {self.user} in {self.app}"
