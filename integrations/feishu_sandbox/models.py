"""The sandbox's own world: the "Feishu side" of a tenant (apps, people, chats, messages).

Nothing here belongs to the console: the console only ever talks to these rows over HTTP, through
the same client it uses for Feishu. Secrets of sandbox apps are encrypted at rest like the
console's own, so that no table of the console's database holds one in plaintext.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone

from oncall.crypto import EncryptedTextField


def _random_hex(nbytes: int) -> str:
    return secrets.token_hex(nbytes)


def new_app_id() -> str:
    return "cli_" + _random_hex(8)


def new_app_secret() -> str:
    return secrets.token_urlsafe(24)


def new_verification_token() -> str:
    return secrets.token_urlsafe(16)


def new_encrypt_key() -> str:
    return secrets.token_urlsafe(16)


def new_chat_id() -> str:
    return "oc_" + _random_hex(16)


def new_message_id() -> str:
    return "om_" + _random_hex(16)


def new_user_id() -> str:
    return _random_hex(4)


def new_union_id() -> str:
    return "on_" + _random_hex(16)


class CallbackFormat(models.TextChoices):
    NEW = "new", "card.action.trigger (schema 2.0)"
    OLD = "old", "card.action.trigger_v1 (old format)"


# Permissions (scopes) a sandbox app can be granted: those the console asks for. Only the contact
# ones change answers: the signed-in user's email and mobile come with their scope only, as on
# Feishu (https://open.feishu.cn/document/server-docs/authentication-management/login-state-management/get).
EMAIL_SCOPE = "contact:user.email:readonly"
PHONE_SCOPE = "contact:user.phone:readonly"
SCOPES = [
    ("im:chat", "im:chat: read and create group chats"),
    ("im:message", "im:message: send messages as the bot"),
    ("im:resource", "im:resource: upload images"),
    ("contact:user.id:readonly", "contact:user.id:readonly: find users by email or mobile"),
    (EMAIL_SCOPE, f"{EMAIL_SCOPE}: read users' email addresses"),
    (PHONE_SCOPE, f"{PHONE_SCOPE}: read users' mobile numbers"),
]


def all_scopes() -> list[str]:
    return [scope for scope, _ in SCOPES]


class SubscriptionMode(models.TextChoices):
    """How the developer console's Events & Callbacks page sends events and callbacks: to the
    developer's server (the request URLs), or over a long connection (长连接) the app opened."""

    REQUEST_URL = "request_url", "Send to developer's server (request URL)"
    LONG_CONNECTION = "long_connection", "Receive through a long connection (长连接)"


class SandboxApp(models.Model):
    """A custom app as the Feishu developer console holds it."""

    name = models.CharField(max_length=120)
    app_id = models.CharField(max_length=64, unique=True, default=new_app_id)
    app_secret = EncryptedTextField(default=new_app_secret)
    verification_token = EncryptedTextField(default=new_verification_token)
    # Blank: events and callbacks are sent in plaintext and unsigned, as Feishu does.
    encrypt_key = EncryptedTextField(blank=True, default=new_encrypt_key)
    bot_name = models.CharField(max_length=120, default="On-call bot")
    event_request_url = models.URLField(
        max_length=500, blank=True, help_text="Events (and new-format card callbacks)."
    )
    card_request_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Message card request URL; blank sends card callbacks to the event URL.",
    )
    card_callback_format = models.CharField(
        max_length=8, choices=CallbackFormat.choices, default=CallbackFormat.NEW
    )
    subscription_mode = models.CharField(
        max_length=16,
        choices=SubscriptionMode.choices,
        default=SubscriptionMode.REQUEST_URL,
        help_text="Long connection: events and new-format card callbacks go to a connected "
        "client; old-format card callbacks still go to the card request URL.",
    )
    redirect_urls = models.JSONField(
        default=list, blank=True, help_text="OAuth redirect URLs (Security Settings)."
    )
    # Permissions (Permissions & Scopes) the tenant's admin granted; new apps get them all.
    scopes = models.JSONField(default=all_scopes, blank=True)
    # Availability range: everyone, or only the people listed.
    available_to_all = models.BooleanField(default=True)
    available_users = models.ManyToManyField("SandboxUser", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.app_id})"

    def is_available_to(self, user: SandboxUser) -> bool:
        return self.available_to_all or self.available_users.filter(pk=user.pk).exists()

    def open_id_of(self, user: SandboxUser) -> str:
        """Feishu gives one person a different open_id in every app: derived, stable, and
        recorded so that ``user_by_open_id`` finds the person again."""
        open_id = "ou_" + hashlib.sha256(f"{self.app_id}:{user.user_id}".encode()).hexdigest()[:32]
        AppIdentity.objects.get_or_create(app=self, user=user, defaults={"open_id": open_id})
        return open_id

    def user_by_open_id(self, open_id: str) -> SandboxUser | None:
        identity = AppIdentity.objects.filter(app=self, open_id=open_id).select_related("user")
        found = identity.first()
        return found.user if found else None


class SandboxUser(models.Model):
    """A person of the fake tenant's directory."""

    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True)
    mobile = models.CharField(max_length=32, blank=True, help_text="e.g. +8613800000001")
    user_id = models.CharField(max_length=64, unique=True, default=new_user_id)
    union_id = models.CharField(max_length=64, unique=True, default=new_union_id)
    avatar_url = models.URLField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AppIdentity(models.Model):
    """The open_id a person has in one app (every path that shows one to the console records it)."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="identities")
    open_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "user"], name="one_open_id_per_app_user"),
            models.UniqueConstraint(fields=["app", "open_id"], name="unique_open_id_per_app"),
        ]

    def __str__(self) -> str:
        return self.open_id


class SandboxChat(models.Model):
    chat_id = models.CharField(max_length=64, unique=True, default=new_chat_id)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(SandboxUser, blank=True, related_name="chats")
    bots = models.ManyToManyField(SandboxApp, blank=True, related_name="chats")
    owner = models.ForeignKey(
        SandboxUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Created through the Open API with this uuid (one chat per uuid per 10 h).
    create_uuid = models.CharField(max_length=64, blank=True)
    created_by_app = models.ForeignKey(
        SandboxApp, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disbanded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SandboxMessage(models.Model):
    """A message in a user's direct chat with a bot, or in a group chat."""

    class MsgType(models.TextChoices):
        TEXT = "text"
        INTERACTIVE = "interactive"
        POST = "post"

    message_id = models.CharField(max_length=64, unique=True, default=new_message_id)
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="messages")
    # Exactly one of user (a direct chat with the app's bot) and chat.
    user = models.ForeignKey(
        SandboxUser, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    chat = models.ForeignKey(
        SandboxChat, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    # Null: the app's bot sent it. Otherwise the person who wrote it (sent as an event).
    sender = models.ForeignKey(
        SandboxUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    msg_type = models.CharField(max_length=16, choices=MsgType.choices)
    content = models.TextField(help_text="The JSON string the API received.")
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    uuid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    update_count = models.PositiveIntegerField(default=0)
    # Pinned in its chat (im/v1/pins), and when.
    pinned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["app", "uuid"])]

    def __str__(self) -> str:
        return self.message_id


class CardUpdateToken(models.Model):
    """The ``c-...`` token of one card click: a delayed update within 30 min, twice."""

    VALID_FOR = timedelta(minutes=30)
    MAX_USES = 2

    token = models.CharField(max_length=80, unique=True)
    message = models.ForeignKey(SandboxMessage, on_delete=models.CASCADE, related_name="+")
    uses = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"update token for {self.message_id}"

    @staticmethod
    def new_token() -> str:
        return "c-" + secrets.token_hex(20)

    # Two checks rather than one "usable": Feishu answers each with its own code.
    def expired(self) -> bool:
        return timezone.now() - self.created_at >= self.VALID_FOR

    def used_up(self) -> bool:
        return self.uses >= self.MAX_USES


def secret_hash(secret: str) -> str:
    """How the sandbox keeps the tokens and OAuth codes it issues: SHA-256, never the value."""
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessToken(models.Model):
    """Tenant (``t-``) and user (``u-``) access tokens the sandbox issued, by ``secret_hash``."""

    class Kind(models.TextChoices):
        TENANT = "tenant"
        USER = "user"
        APP = "app"

    token_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(SandboxUser, null=True, blank=True, on_delete=models.CASCADE)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} token of {self.app_id}"


class AuthorizationCode(models.Model):
    """An OAuth code: 5 minutes, once, bound to its redirect URL and PKCE challenge."""

    VALID_FOR = timedelta(minutes=5)

    code_hash = models.CharField(max_length=64, unique=True)
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.URLField(max_length=500)
    code_challenge = models.CharField(max_length=128, blank=True)
    used = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"authorization code for {self.app_id}"


class Fault(models.Model):
    """Make the next ``remaining`` API calls whose path starts with ``path_prefix`` fail:
    HTTP 5xx, or 429 with code 99991400, or any status with a chosen ``code`` (fault tests and
    demos of retries, token refreshes, a spent quota)."""

    path_prefix = models.CharField(max_length=200, default="/open-apis/")
    status = models.PositiveSmallIntegerField(
        default=503, help_text="500, 502, 503, 429 or 400 (with a code)."
    )
    code = models.IntegerField(
        null=True,
        blank=True,
        help_text="Feishu's code to answer with, e.g. 99991664 (tenant token rejected) or "
        "99991403 (the month's API quota is spent). Blank: the status's usual code.",
    )
    retry_after = models.PositiveIntegerField(default=1, help_text="Seconds, for 429.")
    remaining = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.status} x{self.remaining} on {self.path_prefix}"


class ApiCall(models.Model):
    """One Open API call the sandbox answered (for the page's log and the benchmarks)."""

    app_id = models.CharField(max_length=64, blank=True, db_index=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    http_status = models.PositiveSmallIntegerField()
    code = models.IntegerField()
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.code}"


def new_image_key() -> str:
    return "img_sandbox_" + _random_hex(16)


class SandboxImage(models.Model):
    """An image an app uploaded (``POST /open-apis/im/v1/images``), shown on cards by its
    ``image_key``. Feishu keeps them on its servers; the sandbox keeps the bytes here."""

    image_key = models.CharField(max_length=64, unique=True, default=new_image_key)
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="+")
    image_type = models.CharField(max_length=16, default="message")
    content_type = models.CharField(max_length=32)
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.image_key


class RateHit(models.Model):
    """One call a sliding-window limit admitted (``sliding_window.DatabaseSlidingWindow``):
    the log a window is counted from when there is no Redis. Deleted once older than the
    longest window (a minute)."""

    key = models.CharField(max_length=255)
    at_ms = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["key", "at_ms"])]

    def __str__(self) -> str:
        return f"{self.key} @ {self.at_ms}"


class RateKey(models.Model):
    """One row per limited key, locked while its window is counted, so that two processes
    counting the same key take turns (PostgreSQL; SQLite serialises writers anyway). Deleted
    once no hit is left for it."""

    key = models.CharField(max_length=255, unique=True)

    def __str__(self) -> str:
        return self.key
