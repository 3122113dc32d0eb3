"""The DingTalk app integration: one internal app per row (the guide's "DingTalk integration"),
the groups where its cool app is installed, and the receipts that make the event subscription
idempotent and refuse replays.

Secrets (Client Secret, the event subscription's aes_key and Signature Token) are encrypted at
rest by ``EncryptedTextField`` and never rendered back by the admin or the API.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from integrations.chatkit.rate_windows import AbstractRateWindow
from integrations.chatkit.war_room_models import WarRoomBase
from integrations.dingtalk.client import crypto
from integrations.dingtalk.client.open_api import AppCredentials, DingTalkClient
from oncall.crypto import EncryptedTextField
from oncall.outbound import validate_base_url


class Platform(models.TextChoices):
    DINGTALK = "dingtalk", _("DingTalk (api.dingtalk.com)")
    SANDBOX = "sandbox", _("Sandbox (the console's local stand-in)")


@dataclass(frozen=True)
class Hosts:
    """Where an app's calls go: the current API, the legacy API and the sign-in pages."""

    api: str
    oapi: str
    login: str


DINGTALK_HOSTS = Hosts(
    api="https://api.dingtalk.com",
    oapi="https://oapi.dingtalk.com",
    login="https://login.dingtalk.com",
)


class EventMode(models.TextChoices):
    """How DingTalk delivers the app's events (Events & Callbacks → push method)."""

    HTTP = "http", _("HTTP push to the event subscription request URL")
    STREAM = "stream", _("Stream mode (the console opens the connection; no public URL)")


class ApiPlan(models.TextChoices):
    """The DingTalk edition of the app's organisation, for its API budget (the guide's FAQ
    "DingTalk custom application API call limits": calls a month, refreshed on the 1st, and
    calls a second)."""

    STANDARD = "standard", _("Standard edition (标准版): 10,000 calls a month, 20 a second")
    PROFESSIONAL = (
        "professional",
        _("Professional edition (专业版): 500,000 calls a month, 40 a second"),
    )
    EXCLUSIVE = "exclusive", _("Exclusive edition (专属版): 5,500,000 calls a month, 60 a second")


@dataclass(frozen=True)
class PlanLimits:
    calls_per_month: int
    calls_per_second: int


PLAN_LIMITS = {
    ApiPlan.STANDARD: PlanLimits(10_000, 20),
    ApiPlan.PROFESSIONAL: PlanLimits(500_000, 40),
    ApiPlan.EXCLUSIVE: PlanLimits(5_500_000, 60),
}

# Ids DingTalk hands out: letters and digits (CorpId "ding9f50b15b...", Client ID "dingabc...").
_PLAIN_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def validate_plain_id(value: str) -> None:
    if not _PLAIN_ID.match(value):
        raise ValidationError(
            _("Letters, digits, “-” and “_” only, as the DingTalk developer console shows it."),
            code="invalid",
        )


def validate_agent_id(value: str) -> None:
    if not value.isascii() or not value.isdigit():
        raise ValidationError(_("The AgentId is a number."), code="invalid")


def validate_aes_key(value: str) -> None:
    if crypto.aes_key_problem(value):
        raise ValidationError(
            _(
                "The aes_key is the 43 letters and digits DingTalk generates on the Events & "
                "Callbacks page (事件与回调)."
            ),
            code="invalid",
        )


def validate_api_base_url(value: str) -> None:
    """An admin-chosen outbound URL: the core's SSRF guard (``oncall.outbound``) decides."""
    validate_base_url(value)


class DingTalkApp(models.Model):
    """An internal app of one DingTalk organisation (the guide's "DingTalk integration")."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(_("name"), max_length=120)
    platform = models.CharField(
        _("platform"), max_length=16, choices=Platform.choices, default=Platform.DINGTALK
    )
    corp_id = models.CharField(
        _("CorpId"),
        max_length=64,
        validators=[validate_plain_id],
        help_text=_("The menu under the organisation's avatar in the developer console."),
    )
    agent_id = models.CharField(
        _("AgentId"),
        max_length=20,
        validators=[validate_agent_id],
        help_text=_("Credentials & Basic Info (凭证与基础信息)."),
    )
    client_id = models.CharField(
        _("Client ID (AppKey)"),
        max_length=64,
        validators=[validate_plain_id],
        help_text=_("Credentials & Basic Info (凭证与基础信息)."),
    )
    client_secret = EncryptedTextField(_("Client Secret (AppSecret)"))
    aes_key = EncryptedTextField(
        _("Encryption aes_key"),
        validators=[validate_aes_key],
        help_text=_("Events & Callbacks (事件与回调), push method HTTP Push."),
    )
    signature_token = EncryptedTextField(
        _("Signature Token"), help_text=_("Events & Callbacks (事件与回调), push method HTTP Push.")
    )
    # War rooms (a later slice): the scene group template's ids, from its published page.
    war_room_template_id = models.CharField(
        _("Template ID"),
        max_length=128,
        blank=True,
        help_text=_("Scene Group (场景群) → Group Template: the published template's id."),
    )
    war_room_bot_id = models.CharField(
        _("Bot ID"),
        max_length=128,
        blank=True,
        help_text=_("The template's group bot (not the app's own bot): its Bot ID."),
    )
    api_base_url = models.CharField(
        _("API base URL override"),
        max_length=300,
        blank=True,
        validators=[validate_api_base_url],
        help_text=_(
            "Leave blank to use DingTalk's own hosts. Set it for an egress proxy; it then "
            "serves the current API, the legacy API and sign-in."
        ),
    )
    api_plan = models.CharField(
        _("DingTalk edition"),
        max_length=16,
        choices=ApiPlan.choices,
        default=ApiPlan.STANDARD,
        help_text=_(
            "The organisation's DingTalk edition sets how many API calls its internal apps "
            "may make a month and a second."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    # The last "check configuration", for the admin's list.
    checked_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("checked at")
    )
    check_ok = models.BooleanField(null=True, editable=False, verbose_name=_("check ok"))
    check_message = models.TextField(blank=True, editable=False, verbose_name=_("check message"))
    # When DingTalk last checked the request URL (check_url, on saving it) and last pushed an
    # event: the admin's proof that the subscription works.
    url_verified_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("url verified at")
    )
    last_event_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last event at")
    )
    # Stream mode: ``manage.py dingtalk_connect`` holds the connection of every enabled app in
    # this mode (README, DingTalk, "Stream mode").
    event_mode = models.CharField(
        _("event push method"),
        max_length=8,
        choices=EventMode.choices,
        default=EventMode.HTTP,
        help_text=_(
            "Events & Callbacks (事件与回调) → push method: HTTP push to the request URL, or "
            "Stream mode, where manage.py dingtalk_connect opens the connection."
        ),
    )

    class Meta:
        verbose_name = _("DingTalk app")
        verbose_name_plural = _("DingTalk apps")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "client_id"], name="one_integration_per_dingtalk_app"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    # --- Where the app's calls go -------------------------------------------------------

    @property
    def hosts(self) -> Hosts:
        if self.api_base_url:
            base = self.api_base_url.rstrip("/")
            return Hosts(base, base, base)
        if self.platform == Platform.SANDBOX:
            base = settings.DINGTALK_SANDBOX_BASE_URL
            return Hosts(base, base, base)
        return DINGTALK_HOSTS

    def credentials(self) -> AppCredentials:
        hosts = self.hosts
        return AppCredentials(
            corp_id=self.corp_id,
            client_id=self.client_id,
            client_secret=self.client_secret,
            api_base=hosts.api,
            oapi_base=hosts.oapi,
        )

    def client(self, **options) -> DingTalkClient:
        """A client for this app's calls (build one per task)."""
        return DingTalkClient(self.credentials(), **options)

    @property
    def plan_limits(self) -> PlanLimits:
        return PLAN_LIMITS[ApiPlan(self.api_plan)]

    # --- The URLs the admin pastes into the DingTalk developer console ---------------------

    def _absolute(self, name: str) -> str:
        return settings.PUBLIC_BASE_URL + reverse(name, args=[self.public_id])

    @property
    def event_url(self) -> str:
        """Event Subscription (事件订阅) → request URL, push method HTTP Push."""
        return self._absolute("dingtalk:events")

    @property
    def homepage_url(self) -> str:
        """Web App (网页应用) → application homepage URL (mobile)."""
        return self._absolute("dingtalk:homepage")

    @property
    def link_url(self) -> str:
        """Where a signed-in console user links their DingTalk account (the app's sign-in)."""
        return self._absolute("dingtalk:link")

    @property
    def pc_homepage_url(self) -> str:
        """Web App (网页应用) → PC homepage URL."""
        return self._absolute("dingtalk:pc-homepage")

    @property
    def oauth_redirect_url(self) -> str:
        """Login & Share (登录与分享) → redirect URL (回调域名): where sign-in comes back."""
        return self._absolute("dingtalk:oauth-callback")

    @property
    def cool_app_url(self) -> str:
        """Cool App → Group Quick Access: its desktop and mobile access address."""
        return self._absolute("dingtalk:cool-app")


class DingTalkGroup(models.Model):
    """A group chat where the app's cool app is (or was) installed: what later slices offer as
    escalation targets. Kept current by the group events; a group whose cool app was
    uninstalled stays listed, as broken, so that whatever targets it can be fixed."""

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("dingtalk group", "cool app installed")
        UNINSTALLED = "uninstalled", pgettext_lazy("dingtalk group", "cool app uninstalled")

    app = models.ForeignKey(
        DingTalkApp, on_delete=models.CASCADE, related_name="groups", verbose_name=_("app")
    )
    # The group's openConversationId ("cid..."): what the group APIs and cards address.
    open_conversation_id = models.CharField(_("openConversationId"), max_length=128)
    name = models.CharField(_("name"), max_length=255, blank=True)
    status = models.CharField(
        pgettext_lazy("dingtalk group", "status"),
        max_length=16,
        choices=Status.choices,
        default=Status.ACTIVE,
    )
    cool_app_code = models.CharField(max_length=128, blank=True, verbose_name=_("cool app code"))
    robot_code = models.CharField(max_length=128, blank=True, verbose_name=_("robot code"))
    # The DingTalk userid of whoever last installed or uninstalled the cool app.
    operator = models.CharField(max_length=128, blank=True, verbose_name=_("operator"))
    first_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("first seen at"))
    status_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("status changed at")
    )
    renamed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("renamed at"))
    # A scene group the console made from the app's group template (a war room): its cards come
    # from the template's group bot (``robot_code``), not from the app's own robot.
    scene_group = models.BooleanField(_("war room (scene group)"), default=False)

    class Meta:
        verbose_name = _("DingTalk group")
        verbose_name_plural = _("DingTalk groups")
        ordering = ["app", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "open_conversation_id"], name="one_row_per_dingtalk_group"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.open_conversation_id

    @property
    def usable(self) -> bool:
        return self.status == self.Status.ACTIVE


class EventReceiptManager(models.Manager["EventReceipt"]):
    # Names fixed by EventReceipt's fields; double quotes work in PostgreSQL and SQLite.
    _INSERT_FIRST = (
        'INSERT INTO "dingtalk_eventreceipt" ("app_id", "key", "kind", "received_at") '
        'VALUES (%s, %s, %s, %s) ON CONFLICT ("app_id", "key") DO NOTHING'
    )

    def record_first(self, app: DingTalkApp, key: str, kind: str) -> bool:
        """Store the receipt of ``key``; False when it was stored before (a repeat). One
        ``INSERT ... ON CONFLICT DO NOTHING``: two copies arriving at once cannot both win."""
        connection = connections[self.db]
        received_at = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(self._INSERT_FIRST, [app.pk, key[:128], kind[:80], received_at])
            return cursor.rowcount == 1


class EventReceipt(models.Model):
    """A push already accepted: ``request:<digest>`` for each signed request (a second copy of
    the same request is a replay), ``event:<eventId>`` for each event (DingTalk pushing an event
    again is answered without acting twice). Kept ``DINGTALK_EVENT_RECEIPT_RETENTION_DAYS``."""

    app = models.ForeignKey(
        DingTalkApp, on_delete=models.CASCADE, related_name="+", verbose_name=_("app")
    )
    key = models.CharField(max_length=128, verbose_name=_("key"))
    kind = models.CharField(max_length=80, verbose_name=_("kind"))
    received_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("received at")
    )

    objects = EventReceiptManager()

    class Meta:
        verbose_name = _("DingTalk event receipt")
        constraints = [
            models.UniqueConstraint(fields=["app", "key"], name="one_receipt_per_dingtalk_push"),
        ]
        verbose_name_plural = _("DingTalk event receipts")

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


# --- Cards, group targets and the API budget (integrations.dingtalk.cards, .budget,
# .escalation_targets) -------------------------------------------------------------------------


class DingTalkRuleApp(models.Model):
    """The app that delivers an escalation rule's DingTalk cards (none: the only enabled app)."""

    rule = models.OneToOneField(
        "oncall.EscalationRule", on_delete=models.CASCADE, related_name="dingtalk_delivery"
    )
    app = models.ForeignKey(DingTalkApp, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.rule} → {self.app}"


class DingTalkLevelGroup(models.Model):
    """A DingTalk group notified by an escalation level (where the app's cool app is installed)."""

    level = models.ForeignKey(
        "oncall.EscalationLevel", on_delete=models.CASCADE, related_name="dingtalk_targets"
    )
    group = models.ForeignKey(DingTalkGroup, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "group"], name="one_row_per_dingtalk_target"),
        ]

    def __str__(self) -> str:
        return f"{self.level} → {self.group}"


class DingTalkCardDelivery(models.Model):
    """The incident's card for one recipient (a person or a group) through one app:
    ``requested`` notifications asked for, ``sent`` the last one answered by a card."""

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("dingtalk delivery", "pending")
        SENT = "sent", pgettext_lazy("dingtalk delivery", "sent")
        FAILED = "failed", pgettext_lazy("dingtalk delivery", "failed")
        # No linked account in the app, or one without a userid (the timeline says which).
        NOT_LINKED = "not_linked", pgettext_lazy("dingtalk delivery", "not linked (no userId)")
        GROUP_UNINSTALLED = (
            "group_uninstalled",
            pgettext_lazy("dingtalk delivery", "cool app uninstalled"),
        )
        BUDGET_SPENT = "budget_spent", pgettext_lazy("dingtalk delivery", "API budget spent")

    incident = models.ForeignKey(
        "oncall.Incident", on_delete=models.CASCADE, related_name="dingtalk_deliveries"
    )
    app = models.ForeignKey(DingTalkApp, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey(
        DingTalkGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    requested = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("DingTalk card delivery")
        verbose_name_plural = _("DingTalk card deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "app", "user"],
                condition=models.Q(user__isnull=False),
                name="one_dingtalk_delivery_per_person",
            ),
            models.UniqueConstraint(
                fields=["incident", "app", "group"],
                condition=models.Q(group__isnull=False),
                name="one_dingtalk_delivery_per_group",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=True) ^ models.Q(group__isnull=True),
                name="dingtalk_delivery_has_one_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} → {self.recipient_name}"

    @property
    def recipient_name(self) -> str:
        from oncall.timeline import display_name

        return str(self.group) if self.group_id else display_name(self.user)


class DingTalkSentCard(models.Model):
    """One card DingTalk holds for a delivery, by its ``outTrackId`` (the console's send record,
    written in the step that records the send): what every later change updates, and what a
    retried send finds instead of posting twice. ``fingerprint`` is the card it shows."""

    delivery = models.ForeignKey(
        DingTalkCardDelivery, on_delete=models.CASCADE, related_name="cards"
    )
    out_track_id = models.CharField(max_length=64, unique=True)
    fingerprint = models.CharField(max_length=64)
    sent_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("DingTalk sent card")
        verbose_name_plural = _("DingTalk sent cards")

    def __str__(self) -> str:
        return self.out_track_id


class DingTalkApiUsage(models.Model):
    """One app's Open API calls in one month (DingTalk's month starts on the 1st, China time),
    counted by ``budget.DatabaseMeter`` with one upsert per call."""

    app = models.ForeignKey(DingTalkApp, on_delete=models.CASCADE, related_name="api_usage")
    month = models.DateField(help_text=_("The first day of the month."))
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("DingTalk API usage")
        verbose_name_plural = _("DingTalk API usage")
        constraints = [
            models.UniqueConstraint(fields=["app", "month"], name="one_dingtalk_usage_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.app} {self.month:%Y-%m}: {self.calls}"


class DingTalkRateWindow(AbstractRateWindow):
    """DingTalk's rate-limit windows (``integrations.chatkit.rate_windows`` says what a row is):
    the app's calls a second (``budget``) and each receiver's messages a minute (``receivers``),
    counted here when the console runs without Redis."""

    class Meta:
        verbose_name = _("rate-limit window")
        verbose_name_plural = _("rate-limit windows")


# --- Account linking -------------------------------------------------------------------------


class DingTalkAccount(models.Model):
    """A console user's identity in one DingTalk app's organisation, linked through the app's
    sign-in (OAuth), by an admin's linking by mobile, or entered by an admin with its userid:
    what one-to-one cards are addressed to, and how a click is traced back to a person.
    ``union_id`` is what sign-in reveals (``/v1.0/contact/users/me``); ``dingtalk_user_id`` is
    the organisation's userid (what the robot's one-to-one messages and card clicks name),
    found from the unionId through the contacts API. A link without a userid receives no
    one-to-one card (its deliveries say "not linked (no userId)")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="dingtalk_accounts",
        verbose_name=_("user"),
    )
    app = models.ForeignKey(DingTalkApp, on_delete=models.CASCADE, related_name="accounts")
    # Blank for a person an admin entered by userid (or carried over from the userid mapping
    # that preceded linking): sign-in fills it in when the person links.
    union_id = models.CharField("unionId", max_length=64, blank=True)
    dingtalk_user_id = models.CharField(
        "userid",
        max_length=64,
        blank=True,
        validators=[validate_plain_id],
        help_text=_(
            "The organisation's userid (staffId), where one-to-one cards go. Filled in by "
            "sign-in and by linking by mobile; without it the person's cards are refused as "
            "“not linked (no userId)”."
        ),
    )
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    # What a war room finds the userid by when the link has none (``topapi/v2/user/getbymobile``).
    mobile = models.CharField(
        _("mobile"),
        max_length=32,
        blank=True,
        help_text=_(
            "The person's mobile number in DingTalk. A war room finds their userid by it when "
            "the link has none."
        ),
    )
    avatar_url = models.URLField(_("avatar URL"), max_length=1000, blank=True)
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("linked DingTalk account")
        verbose_name_plural = _("linked DingTalk accounts")
        ordering = ["app", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "app"], name="one_dingtalk_link_per_user"),
            models.UniqueConstraint(
                fields=["app", "union_id"],
                condition=~models.Q(union_id=""),
                name="one_user_per_dingtalk_union_id",
            ),
            # A click names its clicker by userid: one person per userid in an app.
            models.UniqueConstraint(
                fields=["app", "dingtalk_user_id"],
                condition=~models.Q(dingtalk_user_id=""),
                name="one_user_per_dingtalk_userid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ↔ {self.name or self.union_id} ({self.app})"


# --- War rooms (integrations.dingtalk.war_rooms) ------------------------------------------------


class DingTalkWarRoom(WarRoomBase):
    """An incident's DingTalk scene group, made from the app's group template (the guide's
    "Configure War Room"): one per incident and app (``chatkit.war_room_models``). A task
    creates the group with DingTalk's ``uuid`` (its "建群去重的业务id") derived from the row, so
    a task run twice creates one group."""

    incident = models.ForeignKey(
        "oncall.Incident",
        on_delete=models.CASCADE,
        related_name="dingtalk_war_rooms",
        verbose_name=_("incident"),
    )
    app = models.ForeignKey(
        DingTalkApp, on_delete=models.CASCADE, related_name="war_rooms", verbose_name=_("app")
    )
    group = models.ForeignKey(
        DingTalkGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="war_rooms",
        verbose_name=_("group"),
    )
    # DingTalk's chatid of the group (what its applink opens), besides the openConversationId.
    chat_id = models.CharField(max_length=128, blank=True, verbose_name="chatid")

    class Meta(WarRoomBase.Meta):
        verbose_name = _("DingTalk war room")
        verbose_name_plural = _("DingTalk war rooms")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "app"], name="one_dingtalk_war_room_per_incident_app"
            )
        ]
