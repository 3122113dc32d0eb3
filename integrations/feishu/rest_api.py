"""REST resources of the Feishu integration: ``/api/v1/feishu-apps/`` and ``/feishu-chats/``.

Staff with the admin's model permissions only, for reading too (``oncall.permissions``): an
app's configuration is an admin's business. Secrets are write-only: required when creating,
omitted (or blank) on update keeps them.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from integrations.feishu import budget, chats, setup_check
from integrations.feishu.client import errors
from integrations.feishu.long_connection.heartbeat import connection_status
from integrations.feishu.models import CardDelivery, FeishuApp, FeishuChat, LinkedAccount
from oncall.permissions import ModelPermissions, visible_incidents


class FeishuUnavailable(APIException):
    status_code = 502
    default_code = "feishu_error"


def _secret(label: str, *, required_on_create: bool = True) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        style={"input_type": "password"},
        help_text=f"{label}. Write-only; omit or leave blank on update to keep it."
        + ("" if required_on_create else " Optional."),
    )


class FeishuAppSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    app_secret = _secret("App Secret")
    verification_token = _secret("Verification Token")
    encrypt_key = _secret("Encrypt Key (recommended)", required_on_create=False)
    has_encrypt_key = serializers.SerializerMethodField()
    urls = serializers.SerializerMethodField()
    last_check = serializers.SerializerMethodField()
    api_usage = serializers.SerializerMethodField()
    connection = serializers.SerializerMethodField()

    class Meta:
        model = FeishuApp
        fields = [
            "id",
            "name",
            "platform",
            "app_id",
            "app_secret",
            "verification_token",
            "encrypt_key",
            "has_encrypt_key",
            "api_base_url",
            "war_room_enabled",
            "card_language",
            "enabled",
            "inbound_mode",
            "connection",
            "urls",
            "last_check",
            "api_plan",
            "api_monthly_quota",
            "api_usage",
            "chats_synced_at",
            "created_at",
        ]
        read_only_fields = ["chats_synced_at", "created_at"]

    def get_has_encrypt_key(self, app: FeishuApp) -> bool:
        return bool(app.encrypt_key)

    @extend_schema(
        responses=inline_serializer(
            "FeishuAppUrls",
            {
                "web": serializers.URLField(),
                "redirect": serializers.URLField(),
                "card_callback": serializers.URLField(),
                "event_callback": serializers.URLField(),
            },
        )
    )
    def get_urls(self, app: FeishuApp) -> dict[str, str]:
        """The URLs to paste into the Feishu developer console."""
        return {
            "web": app.web_url,
            "redirect": app.redirect_url,
            "card_callback": app.card_callback_url,
            "event_callback": app.event_callback_url,
        }

    @extend_schema_field(
        inline_serializer(
            "FeishuLongConnection",
            {
                "state": serializers.ChoiceField(choices=["up", "down", "not_used"]),
                "message": serializers.CharField(),
                "connected_at": serializers.DateTimeField(allow_null=True),
                "heartbeat_at": serializers.DateTimeField(allow_null=True),
                "last_message_at": serializers.DateTimeField(allow_null=True),
                "last_error": serializers.CharField(),
            },
        )
    )
    def get_connection(self, app: FeishuApp) -> dict:
        """The long connection (``inbound_mode`` long_connection), as ``feishu_connect`` last
        recorded it: ``up`` while its heartbeat is fresh."""
        status = connection_status(app)
        return {
            "state": status.state,
            "message": status.message,
            "connected_at": status.connected_at,
            "heartbeat_at": status.heartbeat_at,
            "last_message_at": status.last_message_at,
            "last_error": status.last_error,
        }

    def get_last_check(self, app: FeishuApp) -> dict | None:
        if app.checked_at is None:
            return None
        return {"at": app.checked_at, "ok": app.check_ok, "message": app.check_message}

    @extend_schema_field(
        inline_serializer(
            "FeishuApiUsage",
            {
                "month": serializers.DateField(help_text="First day of the quota month."),
                "calls": serializers.IntegerField(help_text="Open API calls counted so far."),
                "limit": serializers.IntegerField(
                    allow_null=True, help_text="Calls a month; null when unlimited."
                ),
                "percent": serializers.FloatField(allow_null=True),
                "warning": serializers.ChoiceField(
                    choices=["", "80", "100", "spent"],
                    help_text="80 or 100: that share of the quota is used; spent: Feishu "
                    "refused a call for the quota (cards fail until next month or a plan "
                    "change).",
                ),
                "message": serializers.CharField(),
            },
        )
    )
    def get_api_usage(self, app: FeishuApp) -> dict:
        """This month's Open API calls against the tenant's quota (the API budget)."""
        current = budget.usage(app)
        return {
            "month": current.month,
            "calls": current.calls,
            "limit": current.limit,
            "percent": current.percent,
            "warning": current.level,
            "message": budget.describe(app, current),
        }

    def validate(self, attrs: dict) -> dict:
        for name in ("app_secret", "verification_token", "encrypt_key"):
            if not attrs.get(name):
                attrs.pop(name, None)  # blank keeps the stored value
        if self.instance is None:
            missing = [n for n in ("app_secret", "verification_token") if n not in attrs]
            if missing:
                raise serializers.ValidationError({n: "This field is required." for n in missing})
        return attrs


class FeishuChatSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True)
    app = serializers.SlugRelatedField(slug_field="public_id", read_only=True)

    class Meta:
        model = FeishuChat
        fields = [
            "id",
            "app",
            "chat_id",
            "name",
            "description",
            "status",
            "first_seen_at",
            "synced_at",
            "status_changed_at",
        ]
        read_only_fields = fields


CheckSerializer = inline_serializer(
    "FeishuCheckResult", {"ok": serializers.BooleanField(), "message": serializers.CharField()}
)


class FeishuAppViewSet(viewsets.ModelViewSet):
    """Feishu / Lark custom apps (IM integrations)."""

    serializer_class = FeishuAppSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    lookup_field = "public_id"
    filterset_fields = ["platform", "enabled"]
    ordering_fields = ["name", "created_at"]
    queryset = FeishuApp.objects.order_by("name")

    @transaction.atomic
    def perform_update(self, serializer: FeishuAppSerializer) -> None:
        serializer.save()

    @extend_schema(request=None, responses=CheckSerializer)
    @action(detail=True, methods=["post"])
    def check(self, request: Request, public_id: str | None = None) -> Response:
        """Fetch a fresh tenant token and list the bot's chats; Feishu's error in plain words."""
        result = setup_check.check_configuration(self.get_object())
        return Response({"ok": result.ok, "message": result.message})

    @extend_schema(request=None, responses=CheckSerializer)
    @action(detail=True, methods=["post"], url_path="sync-chats")
    def sync_chats(self, request: Request, public_id: str | None = None) -> Response:
        """Bring the app's chat list up to date with Feishu now."""
        try:
            result = chats.sync_chats(self.get_object())
        except errors.FeishuError as exc:
            raise FeishuUnavailable(f"Feishu refused or failed: {exc}") from None
        return Response({"ok": True, "message": str(result)})


class FeishuChatViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Group chats the bots are (or were) in; synced from Feishu, read-only."""

    serializer_class = FeishuChatSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    filterset_fields = {"app__public_id": ["exact"], "status": ["exact"]}
    ordering_fields = ["name"]
    queryset = FeishuChat.objects.select_related("app").order_by("app_id", "name", "id")


class LinkedAccountSerializer(serializers.ModelSerializer):
    app = serializers.SlugRelatedField(slug_field="public_id", read_only=True)

    class Meta:
        model = LinkedAccount
        fields = [
            "id",
            "user",
            "app",
            "open_id",
            "union_id",
            "feishu_user_id",
            "name",
            "email",
            "avatar_url",
            "linked_at",
        ]
        read_only_fields = fields


class LinkedAccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Console users linked to Feishu identities (made when a person opens the app in Feishu).
    Deleting one makes that person link again."""

    serializer_class = LinkedAccountSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    filterset_fields = {"app__public_id": ["exact"], "user": ["exact"]}
    queryset = LinkedAccount.objects.select_related("app").order_by("app_id", "name", "id")


class CardDeliverySerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    app = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    recipient = serializers.CharField(source="recipient_name", read_only=True)
    message_ids = serializers.ListField(child=serializers.CharField(), read_only=True)
    current_message_id = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The copy kept current; older copies to the same recipient point to it.",
    )

    class Meta:
        model = CardDelivery
        fields = [
            "id",
            "incident",
            "app",
            "recipient",
            "user",
            "chat",
            "state",
            "requested",
            "sent",
            "attempts",
            "last_error",
            "message_ids",
            "current_message_id",
            "updated_at",
        ]
        read_only_fields = fields


class CardDeliveryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Who was sent an incident's card, and what went wrong ("app not linked", ...). Everyone
    sees the deliveries of the incidents they can see."""

    serializer_class = CardDeliverySerializer
    filterset_fields = {"incident__public_id": ["exact"], "state": ["exact"]}
    queryset = CardDelivery.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet:
        incidents = visible_incidents(self.request.user)
        return (
            CardDelivery.objects.filter(incident__in=incidents)
            .select_related("incident", "app", "user", "chat")
            .prefetch_related("sent_messages")
            .order_by("-id")
        )


def register(router: BaseRouter) -> None:
    router.register("feishu-apps", FeishuAppViewSet, basename="feishu-app")
    router.register("feishu-chats", FeishuChatViewSet, basename="feishu-chat")
    router.register("feishu-linked-accounts", LinkedAccountViewSet, basename="feishu-link")
    router.register("feishu-card-deliveries", CardDeliveryViewSet, basename="feishu-delivery")
