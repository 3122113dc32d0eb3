"""The Feishu / Lark app integration: one custom app per row, the chats its bot is in, and the
receipts that make callback handling idempotent.

Secrets (App Secret, Verification Token, Encrypt Key) are encrypted at rest by
``EncryptedTextField`` and never rendered back by the admin or the API.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import connections, models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from integrations.chatkit.rate_windows import AbstractRateWindow
from integrations.chatkit.ratelimit import default_limiter
from integrations.chatkit.war_room_models import WarRoomBase
from integrations.feishu.client.open_api import AppCredentials, FeishuClient
from oncall import languages
from oncall.crypto import EncryptedTextField
from oncall.languages import language_choices
from oncall.outbound import validate_base_url


class Platform(models.TextChoices):
    FEISHU = "feishu", _("Feishu (open.feishu.cn)")
    LARK = "lark", _("Lark (open.larksuite.com)")
    SANDBOX = "sandbox", _("Sandbox (the console's local stand-in)")


# (Open API base, OAuth accounts base) per platform. The sandbox's comes from settings.
PLATFORM_HOSTS = {
    Platform.FEISHU: ("https://open.feishu.cn", "https://accounts.feishu.cn"),
    Platform.LARK: ("https://open.larksuite.com", "https://accounts.larksuite.com"),
}


class ApiPlan(models.TextChoices):
    """The Feishu edition of the app's tenant, for its monthly Open API quota (the setup guide's
    table "调用量限制": the basic free edition 10,000 calls a month, refreshed on the 1st; the
    other editions unlimited)."""

    FREE = "free", _("Basic free edition (基础免费版): 10,000 calls a month")
    UNLIMITED = "unlimited", _("Other editions (其他版本): no monthly limit")


FREE_PLAN_MONTHLY_CALLS = 10_000


class InboundMode(models.TextChoices):
    """How Feishu reaches the console: it POSTs to the console's request URLs (a public URL is
    needed), or the console opens a long connection (长连接) to Feishu and receives events and
    new-format card callbacks over it (``manage.py feishu_connect``; no public URL)."""

    REQUEST_URL = "request_url", _("Request URL (Feishu calls the console)")
    LONG_CONNECTION = "long_connection", _("Long connection (the console connects to Feishu)")


def validate_api_base_url(value: str) -> None:
    """An admin-chosen outbound URL: the core's SSRF guard (``oncall.outbound``) decides. Kept
    under this name because migrations refer to it."""
    validate_base_url(value)


class FeishuApp(models.Model):
    """A custom app of one Feishu or Lark tenant (the "IM integration" of the setup guide)."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    platform = models.CharField(
        max_length=16, choices=Platform.choices, default=Platform.FEISHU, verbose_name=_("platform")
    )
    app_id = models.CharField(
        _("App ID"), max_length=64, help_text=_("Credentials & Basic Info, e.g. cli_a1b2c3d4e5f6")
    )
    app_secret = EncryptedTextField(_("App Secret"))
    verification_token = EncryptedTextField(
        _("Verification Token"), help_text=_("Events & Callbacks → Encryption Strategy.")
    )
    encrypt_key = EncryptedTextField(
        _("Encrypt Key"),
        blank=True,
        help_text=_(
            "Events & Callbacks → Encryption Strategy. Optional but recommended: with it "
            "Feishu encrypts and signs every event and callback."
        ),
    )
    api_base_url = models.CharField(
        _("API base URL override"),
        max_length=300,
        blank=True,
        validators=[validate_api_base_url],
        help_text=_(
            "Leave blank to use the platform's own host. Set it for an egress proxy or a "
            "private deployment; it then serves both the Open API and OAuth."
        ),
    )
    # Blank: the console's LANGUAGE_CODE (a channel may choose its own: ``oncall.languages``).
    card_language = models.CharField(
        _("card language"),
        max_length=16,
        blank=True,
        default="",
        choices=language_choices,
        help_text=_(
            "The language of the cards and chat answers this app sends; empty: the console's "
            "language (ONCALL_LANGUAGE). A channel may set its own."
        ),
    )
    war_room_enabled = models.BooleanField(
        _("enable war room"),
        default=False,
        help_text=_("Create a Feishu group chat for an incident on request."),
    )
    # --- The API budget (integrations.feishu.budget) ---
    api_plan = models.CharField(
        _("Feishu edition"),
        max_length=16,
        choices=ApiPlan.choices,
        default=ApiPlan.FREE,
        help_text=_(
            "The tenant's Feishu edition sets how many Open API calls its custom apps may make "
            "a month. Feishu's admin console shows it under Billing → Equity data."
        ),
    )
    api_monthly_quota = models.PositiveIntegerField(
        _("monthly API quota override"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Calls a month, when Feishu granted the tenant a quota other than its edition's "
            "(the equity data page shows it). Leave blank to use the edition's."
        ),
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    inbound_mode = models.CharField(
        _("how Feishu reaches the console"),
        max_length=16,
        choices=InboundMode.choices,
        default=InboundMode.REQUEST_URL,
        help_text=_(
            "Long connection: for a console Feishu cannot reach (behind a firewall). Run "
            "“python manage.py feishu_connect”; in Feishu choose “Receive events through "
            "persistent connection” for events and callbacks."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    # The last "check configuration", for the admin's list.
    checked_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("checked at")
    )
    check_ok = models.BooleanField(null=True, editable=False, verbose_name=_("check ok"))
    check_message = models.TextField(blank=True, editable=False, verbose_name=_("check message"))
    chats_synced_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("chats synced at")
    )
    # Whether the user info of the last Feishu sign-in carried an email / a mobile number:
    # Feishu leaves them out unless the app has contact:user.email:readonly /
    # contact:user.phone:readonly. None: nobody signed in yet. "Check configuration" reports it.
    user_info_has_email = models.BooleanField(
        null=True, editable=False, verbose_name=_("user info has email")
    )
    user_info_has_mobile = models.BooleanField(
        null=True, editable=False, verbose_name=_("user info has mobile")
    )

    class Meta:
        verbose_name = _("Feishu app")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "app_id"], name="one_integration_per_feishu_app"
            ),
        ]
        verbose_name_plural = _("Feishu apps")

    def __str__(self) -> str:
        return self.name

    def language_for(self, incident: Any | None = None) -> str:
        """The language of this app's cards and chat answers about ``incident`` (None: about
        no incident): the core decides (``oncall.languages.card_language``)."""
        return languages.card_language(incident, self.card_language)

    # --- Where the app's calls go -------------------------------------------------------

    @property
    def open_api_base(self) -> str:
        if self.api_base_url:
            return self.api_base_url.rstrip("/")
        if self.platform == Platform.SANDBOX:
            return settings.FEISHU_SANDBOX_BASE_URL
        return PLATFORM_HOSTS[Platform(self.platform)][0]

    @property
    def accounts_base(self) -> str:
        if self.api_base_url:
            return self.api_base_url.rstrip("/")
        if self.platform == Platform.SANDBOX:
            return settings.FEISHU_SANDBOX_BASE_URL
        return PLATFORM_HOSTS[Platform(self.platform)][1]

    def credentials(self) -> AppCredentials:
        return AppCredentials(
            app_id=self.app_id,
            app_secret=self.app_secret,
            open_api_base=self.open_api_base,
            accounts_base=self.accounts_base,
        )

    def client(self, **options) -> FeishuClient:
        """A client with the console's shared rate limits and the app's monthly call meter
        (build one per task)."""
        from integrations.feishu.budget import DatabaseMeter

        options.setdefault("limiter", default_limiter(RateWindow))
        options.setdefault("meter", DatabaseMeter(self))
        return FeishuClient(self.credentials(), **options)

    @property
    def monthly_call_limit(self) -> int | None:
        """The tenant's Open API calls a month; None when unlimited."""
        if self.api_monthly_quota:
            return self.api_monthly_quota
        if self.api_plan == ApiPlan.FREE:
            return FREE_PLAN_MONTHLY_CALLS
        return None

    # --- The URLs the admin pastes into the Feishu developer console -----------------------

    def _absolute(self, name: str) -> str:
        return settings.PUBLIC_BASE_URL + reverse(name, args=[self.public_id])

    @property
    def web_url(self) -> str:
        """Web app → desktop and mobile homepage."""
        return self._absolute("feishu:web")

    def web_entry_url(self, path: str) -> str:
        """The web entry that opens the console page ``path`` (site-relative) signed in:
        inside Feishu, the sign-in round trip needs no typing (the links on cards)."""
        return f"{self.web_url}?{urlencode({'next': path})}"

    @property
    def redirect_url(self) -> str:
        """Security Settings → Redirect URL (OAuth)."""
        return self._absolute("feishu:oauth-callback")

    @property
    def card_callback_url(self) -> str:
        """Events & Callbacks → Callback Configuration → message card request URL."""
        return self._absolute("feishu:card-callback")

    @property
    def event_callback_url(self) -> str:
        """Events & Callbacks → Event Configuration → request URL."""
        return self._absolute("feishu:event-callback")


class ConnectionHeartbeat(models.Model):
    """The long connection of an app in long-connection mode, as ``feishu_connect`` last saw
    it: written on connecting and disconnecting, on every message, and every
    ``FEISHU_CONNECT_HEARTBEAT_SECONDS`` while the socket is open. Its own row, so that these
    frequent writes never touch (or race with an admin saving) the app's."""

    app = models.OneToOneField(
        FeishuApp, on_delete=models.CASCADE, related_name="heartbeat", verbose_name=_("app")
    )
    connected = models.BooleanField(default=False, verbose_name=_("connected"))
    connected_at = models.DateTimeField(null=True, blank=True, verbose_name=_("connected at"))
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    last_message_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last message at"))
    last_error = models.CharField(max_length=300, blank=True, verbose_name=_("last error"))
    # host:pid of the feishu_connect process that wrote last.
    process = models.CharField(max_length=120, blank=True, verbose_name=_("process"))

    class Meta:
        verbose_name = _("Feishu long connection")
        verbose_name_plural = _("Feishu long connections")

    def __str__(self) -> str:
        return f"{self.app} ({'connected' if self.connected else 'not connected'})"


class FeishuChat(models.Model):
    """A group chat the app's bot is (or was) in: an escalation target."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        BOT_REMOVED = "bot_removed", _("bot removed")
        DISBANDED = "disbanded", _("disbanded")

    app = models.ForeignKey(
        FeishuApp, on_delete=models.CASCADE, related_name="chats", verbose_name=_("app")
    )
    chat_id = models.CharField(max_length=64, verbose_name=_("chat id"))
    name = models.CharField(max_length=255, blank=True, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    first_seen_at = models.DateTimeField(auto_now_add=True, verbose_name=_("first seen at"))
    synced_at = models.DateTimeField(null=True, blank=True, verbose_name=_("synced at"))
    status_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("status changed at")
    )
    # Escalation levels that notify this chat (the core's levels know no platform).
    escalation_levels = models.ManyToManyField(
        "oncall.EscalationLevel",
        blank=True,
        related_name="feishu_chats",
        verbose_name=_("escalation levels"),
    )

    class Meta:
        verbose_name = _("Feishu chat")
        ordering = ["app", "name"]
        constraints = [
            models.UniqueConstraint(fields=["app", "chat_id"], name="one_row_per_app_chat"),
        ]
        verbose_name_plural = _("Feishu chats")

    def __str__(self) -> str:
        return self.name or self.chat_id

    @property
    def usable(self) -> bool:
        return self.status == self.Status.ACTIVE


class RuleApp(models.Model):
    """The Feishu app that delivers an escalation rule's cards. A rule without one is delivered
    by the only enabled app, when there is exactly one (``escalation_targets``)."""

    rule = models.OneToOneField(
        "oncall.EscalationRule",
        on_delete=models.CASCADE,
        related_name="feishu_delivery",
        verbose_name=_("rule"),
    )
    app = models.ForeignKey(
        FeishuApp, on_delete=models.CASCADE, related_name="rule_choices", verbose_name=_("app")
    )

    class Meta:
        verbose_name = _("Feishu app of an escalation rule")
        verbose_name_plural = _("Feishu apps of escalation rules")

    def __str__(self) -> str:
        return f"{self.rule} → {self.app}"


class CallbackReceiptManager(models.Manager["CallbackReceipt"]):
    # Names fixed by CallbackReceipt's fields; double quotes work in PostgreSQL and SQLite.
    _INSERT_FIRST = (
        'INSERT INTO "integrations_callbackreceipt" ("app_id", "key", "kind", "received_at") '
        'VALUES (%s, %s, %s, %s) ON CONFLICT ("app_id", "key") DO NOTHING'
    )

    def record_first(self, app: FeishuApp, key: str, kind: str) -> bool:
        """Store the receipt of ``key``; False when it was stored before (a repeat).

        One ``INSERT ... ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite both have it): every
        card click writes a receipt while its person waits, and ``create()`` in a savepoint
        costs three round trips and an exception for each repeat. Correct inside or outside a
        transaction, since nothing fails."""
        connection = connections[self.db]
        received_at = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(self._INSERT_FIRST, [app.pk, key, kind, received_at])
            return cursor.rowcount == 1


class CallbackReceipt(models.Model):
    """One event or card callback already accepted: Feishu re-sends events it thinks were not
    answered, and a second copy must be answered 200 without being processed again."""

    app = models.ForeignKey(
        FeishuApp, on_delete=models.CASCADE, related_name="+", verbose_name=_("app")
    )
    # header.event_id (schema 2.0), uuid (schema 1.0), or a digest of an old card callback.
    key = models.CharField(max_length=128, verbose_name=_("key"))
    kind = models.CharField(max_length=80, verbose_name=_("kind"))
    received_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("received at")
    )

    objects = CallbackReceiptManager()

    class Meta:
        verbose_name = _("Feishu callback receipt")
        constraints = [
            models.UniqueConstraint(fields=["app", "key"], name="one_receipt_per_callback"),
        ]
        verbose_name_plural = _("Feishu callback receipts")

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class LinkedAccount(models.Model):
    """A console user's identity in one Feishu app: what cards are delivered to, and how a card
    click is traced back to a person. ``open_id`` is per app; ``union_id`` is the same across
    one developer's apps; ``feishu_user_id`` is the tenant's employee id."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="feishu_accounts",
        verbose_name=_("user"),
    )
    app = models.ForeignKey(
        FeishuApp, on_delete=models.CASCADE, related_name="linked_accounts", verbose_name=_("app")
    )
    open_id = models.CharField(max_length=64, verbose_name=_("open id"))
    union_id = models.CharField(max_length=64, blank=True, verbose_name=_("union id"))
    feishu_user_id = models.CharField(_("Feishu user ID"), max_length=64, blank=True)
    name = models.CharField(max_length=255, blank=True, verbose_name=_("name"))
    email = models.EmailField(blank=True, verbose_name=_("email"))
    avatar_url = models.URLField(max_length=1000, blank=True, verbose_name=_("avatar url"))
    linked_at = models.DateTimeField(auto_now_add=True, verbose_name=_("linked at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("linked Feishu account")
        ordering = ["app", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "app"], name="one_link_per_user_and_app"),
            models.UniqueConstraint(fields=["app", "open_id"], name="one_user_per_open_id"),
        ]
        verbose_name_plural = _("linked Feishu accounts")

    def __str__(self) -> str:
        return f"{self.user} ↔ {self.name or self.open_id} ({self.app})"


class CardDelivery(models.Model):
    """An incident's card for one recipient (a person's direct messages, or a group chat)
    through one app. Escalation asks for notifications (``requested``); a task sends them, each
    with a uuid derived from the row and its number, so a retried send never posts twice.
    Every message sent is a ``SentCard`` row (``sent_messages``) so that every copy can be
    updated."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        NOT_LINKED = "not_linked", _("app not linked")
        BOT_NOT_IN_CHAT = "bot_not_in_chat", _("bot not in chat")

    incident = models.ForeignKey(
        "oncall.Incident",
        on_delete=models.CASCADE,
        related_name="feishu_deliveries",
        verbose_name=_("incident"),
    )
    app = models.ForeignKey(
        FeishuApp, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("app")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    chat = models.ForeignKey(
        FeishuChat,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("chat"),
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, verbose_name=_("state")
    )
    requested = models.PositiveIntegerField(default=0, verbose_name=_("requested"))
    sent = models.PositiveIntegerField(default=0, verbose_name=_("sent"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("card delivery")
        verbose_name_plural = _("card deliveries")
        ordering = ["incident", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "app", "user"],
                condition=models.Q(user__isnull=False),
                name="one_delivery_per_incident_app_user",
            ),
            models.UniqueConstraint(
                fields=["incident", "app", "chat"],
                condition=models.Q(chat__isnull=False),
                name="one_delivery_per_incident_app_chat",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=True) ^ models.Q(chat__isnull=True),
                name="delivery_to_a_user_or_a_chat",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} → {self.recipient_name}"

    @property
    def recipient_name(self) -> str:
        if self.chat_id:
            return str(self.chat)
        from oncall.timeline import display_name

        return display_name(self.user)

    @property
    def message_ids(self) -> list[str]:
        """The ids of the messages sent, oldest first (``prefetch_related("sent_messages")``
        makes this free for a list of deliveries)."""
        return [sent.message_id for sent in self.sent_messages.all()]

    @property
    def current_message_id(self) -> str | None:
        """The one copy still kept current (the others were superseded by newer ones), or None
        before any was sent (a prefetch of ``sent_messages`` makes this free)."""
        live = [sent for sent in self.sent_messages.all() if sent.superseded_at is None]
        return live[-1].message_id if live else None


class SentCard(models.Model):
    """One message a delivery sent: a copy of the incident's card in someone's chat.

    The row is written with the send that produced it, and ``fingerprint`` says which card
    content the copy shows now (the card sent, a PATCH, or a click's answer replacing it), so
    that a sync patches exactly the copies that are out of date, and a reply or a click finds
    its incident by ``message_id``, all without asking a cache."""

    delivery = models.ForeignKey(
        CardDelivery,
        on_delete=models.CASCADE,
        related_name="sent_messages",
        verbose_name=_("delivery"),
    )
    # Feishu's om_... ids are unique across tenants; unique also makes the look-up indexed.
    message_id = models.CharField(max_length=64, unique=True, verbose_name=_("message id"))
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The card content this copy shows."),
        verbose_name=_("fingerprint"),
    )
    sent_at = models.DateTimeField(default=timezone.now, verbose_name=_("sent at"))
    # Last PATCH of this copy, or the click answer that replaced it.
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    # A newer copy went to the same recipient: this one shows the short "see the newer card"
    # form (``cards.supersede``) and later changes no longer update it.
    superseded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("A newer copy was sent to the same recipient; this one points to it."),
        verbose_name=_("superseded at"),
    )

    class Meta:
        verbose_name = _("sent card")
        ordering = ["sent_at", "id"]
        verbose_name_plural = _("sent cards")

    def __str__(self) -> str:
        return self.message_id


class RateWindow(AbstractRateWindow):
    """Feishu's rate-limit windows (``integrations.chatkit.rate_windows`` says what a row is),
    counted by the client's ``DatabaseLimiter`` when the console runs without Redis."""

    class Meta:
        verbose_name = _("rate-limit window")
        verbose_name_plural = _("rate-limit windows")


class UploadedImage(models.Model):
    """An alert's image that an app uploaded to Feishu (the image API's ``image_key``), kept
    per app and source URL: a card refreshed twenty times uploads its images once. A key
    belongs to the app that uploaded it, so another app uploads again."""

    app = models.ForeignKey(
        FeishuApp, on_delete=models.CASCADE, related_name="+", verbose_name=_("app")
    )
    # SHA-256 of the URL: the unique index stays small however long the URL is.
    source_hash = models.CharField(max_length=64, verbose_name=_("source hash"))
    source_url = models.TextField(verbose_name=_("source url"))
    image_key = models.CharField(max_length=200, verbose_name=_("image key"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("uploaded image")
        constraints = [
            models.UniqueConstraint(fields=["app", "source_hash"], name="feishu_image_once")
        ]
        verbose_name_plural = _("uploaded images")

    def __str__(self) -> str:
        return self.image_key


class ApiUsage(models.Model):
    """One app's Open API calls in one calendar month (Feishu's quota month, which starts on
    the 1st in China's time), counted by ``budget.DatabaseMeter`` with one upsert per call.

    ``exhausted_plan`` is the plan (``budget.plan_key``) under which Feishu answered 99991403:
    while the app keeps that plan, calls stop until the month ends; a changed plan calls
    again. The 80 % and 100 % warnings need no state: the call whose number reaches a
    threshold exactly warns (``budget``)."""

    app = models.ForeignKey(
        FeishuApp, on_delete=models.CASCADE, related_name="api_usage", verbose_name=_("app")
    )
    month = models.DateField(help_text=_("The first day of the month."), verbose_name=_("month"))
    calls = models.PositiveBigIntegerField(default=0, verbose_name=_("calls"))
    exhausted_plan = models.CharField(max_length=40, blank=True, verbose_name=_("exhausted plan"))
    exhausted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("exhausted at"))

    class Meta:
        verbose_name = _("Feishu API usage")
        verbose_name_plural = _("Feishu API usage")
        ordering = ["app", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["app", "month"], name="feishu_usage_once_a_month")
        ]

    def __str__(self) -> str:
        return f"{self.app} {self.month:%Y-%m}: {self.calls}"


# --- War rooms ------------------------------------------------------------------------------


class WarRoom(WarRoomBase):
    """An incident's Feishu group chat (the knowledge base's "war room"), one per incident and
    app (``chatkit.war_room_models``): a task creates the chat (``war_rooms.open_room``) with
    Feishu's ``uuid`` derived from the row, so a task run twice, or handed out again by the
    sweep, creates one chat."""

    incident = models.ForeignKey(
        "oncall.Incident",
        on_delete=models.CASCADE,
        related_name="feishu_war_rooms",
        verbose_name=_("incident"),
    )
    app = models.ForeignKey(
        FeishuApp, on_delete=models.CASCADE, related_name="war_rooms", verbose_name=_("app")
    )
    chat = models.ForeignKey(
        FeishuChat,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="war_rooms",
        verbose_name=_("chat"),
    )
    pinned_message_id = models.CharField(
        max_length=64, blank=True, verbose_name=_("pinned message id")
    )
    # Why Feishu refused to pin the card (the sweep then stops asking); empty otherwise.
    pin_error = models.CharField(max_length=300, blank=True, verbose_name=_("pin error"))

    class Meta(WarRoomBase.Meta):
        verbose_name = _("war room")
        verbose_name_plural = _("war rooms")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "app"], name="one_war_room_per_incident_app"
            )
        ]


class AutoWarRoom(models.TextChoices):
    """When an escalation rule opens a war room by itself (its first notification)."""

    NEVER = "", pgettext_lazy("war room", "never")
    CRITICAL = "critical", _("for critical incidents")
    WARNING = "warning", _("for critical and warning incidents")
    ALWAYS = "always", _("for every incident")


class RuleWarRoom(models.Model):
    """An escalation rule's "open a war room" option (Feishu's part of the rule, kept here so
    that the core's rules know no platform); no row: never."""

    rule = models.OneToOneField(
        "oncall.EscalationRule",
        on_delete=models.CASCADE,
        related_name="feishu_war_room",
        verbose_name=_("rule"),
    )
    when = models.CharField(
        max_length=16,
        choices=AutoWarRoom.choices,
        default=AutoWarRoom.NEVER,
        verbose_name=_("when"),
    )

    class Meta:
        verbose_name = _("war room option of an escalation rule")
        verbose_name_plural = _("war room options of escalation rules")

    def __str__(self) -> str:
        return f"{self.rule}: {self.get_when_display()}"
