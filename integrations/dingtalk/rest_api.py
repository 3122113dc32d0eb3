"""REST resources of the DingTalk integration: ``/api/v1/dingtalk-apps/`` and
``/api/v1/dingtalk-groups/``.

Staff with the admin's model permissions only, for reading too (``oncall.permissions``): an
app's configuration is an admin's business. Secrets are write-only: required when creating,
omitted (or blank) on update keeps them.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from integrations.dingtalk import budget, setup_check
from integrations.dingtalk.models import DingTalkApp, DingTalkGroup, validate_aes_key
from oncall.permissions import ModelPermissions

SECRETS = ("client_secret", "aes_key", "signature_token")


def _secret(label: str, *, validators: tuple = ()) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        validators=list(validators),
        style={"input_type": "password"},
        help_text=f"{label}. Write-only: required when creating; omit or leave blank on update "
        "to keep it.",
    )


class DingTalkAppSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    client_secret = _secret("Client Secret (AppSecret)")
    aes_key = _secret(
        "The event subscription's aes_key (43 letters and digits)", validators=(validate_aes_key,)
    )
    signature_token = _secret("The event subscription's Signature Token")
    urls = serializers.SerializerMethodField()
    api_limits = serializers.SerializerMethodField()
    api_usage = serializers.SerializerMethodField()
    last_check = serializers.SerializerMethodField()
    event_subscription = serializers.SerializerMethodField()

    class Meta:
        model = DingTalkApp
        fields = [
            "id",
            "name",
            "platform",
            "corp_id",
            "agent_id",
            "client_id",
            "client_secret",
            "aes_key",
            "signature_token",
            "event_mode",
            "war_room_template_id",
            "war_room_bot_id",
            "api_base_url",
            "api_plan",
            "api_limits",
            "api_usage",
            "enabled",
            "urls",
            "last_check",
            "event_subscription",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    @extend_schema_field(
        inline_serializer(
            "DingTalkAppUrls",
            {
                "event_subscription": serializers.URLField(),
                "homepage": serializers.URLField(),
                "pc_homepage": serializers.URLField(),
                "cool_app": serializers.URLField(),
                "oauth_redirect": serializers.URLField(),
            },
        )
    )
    def get_urls(self, app: DingTalkApp) -> dict[str, str]:
        """The URLs to paste into the DingTalk developer console."""
        return {
            "event_subscription": app.event_url,
            "homepage": app.homepage_url,
            "pc_homepage": app.pc_homepage_url,
            "cool_app": app.cool_app_url,
            "oauth_redirect": app.oauth_redirect_url,
        }

    @extend_schema_field(
        inline_serializer(
            "DingTalkApiLimits",
            {
                "calls_per_month": serializers.IntegerField(),
                "calls_per_second": serializers.IntegerField(),
            },
        )
    )
    def get_api_limits(self, app: DingTalkApp) -> dict[str, int]:
        """What the organisation's DingTalk edition (``api_plan``) allows."""
        limits = app.plan_limits
        return {
            "calls_per_month": limits.calls_per_month,
            "calls_per_second": limits.calls_per_second,
        }

    @extend_schema_field(
        inline_serializer(
            "DingTalkApiUsage",
            {
                "month": serializers.DateField(),
                "calls": serializers.IntegerField(),
                "limit": serializers.IntegerField(),
                "percent": serializers.FloatField(),
                "level": serializers.ChoiceField(choices=["ok", "warning", "spent"]),
                "message": serializers.CharField(),
            },
        )
    )
    def get_api_usage(self, app: DingTalkApp) -> dict:
        """This month's Open API calls against the edition's budget (refused past it)."""
        current = budget.usage(app)
        return {
            "month": budget.quota_month(),
            "calls": current.calls,
            "limit": current.limit,
            "percent": current.percent,
            "level": current.level,
            "message": budget.describe(app, current),
        }

    @extend_schema_field(
        inline_serializer(
            "DingTalkLastCheck",
            {
                "at": serializers.DateTimeField(),
                "ok": serializers.BooleanField(),
                "message": serializers.CharField(),
            },
            allow_null=True,
        )
    )
    def get_last_check(self, app: DingTalkApp) -> dict | None:
        if app.checked_at is None:
            return None
        return {"at": app.checked_at, "ok": app.check_ok, "message": app.check_message}

    @extend_schema_field(
        inline_serializer(
            "DingTalkEventSubscription",
            {
                "url_verified_at": serializers.DateTimeField(
                    allow_null=True, help_text="When DingTalk last checked the request URL."
                ),
                "last_event_at": serializers.DateTimeField(allow_null=True),
            },
        )
    )
    def get_event_subscription(self, app: DingTalkApp) -> dict:
        return {"url_verified_at": app.url_verified_at, "last_event_at": app.last_event_at}

    def validate(self, attrs: dict) -> dict:
        for name in SECRETS:
            if not attrs.get(name):
                attrs.pop(name, None)  # blank keeps the stored value
        if self.instance is None:
            missing = [name for name in SECRETS if name not in attrs]
            if missing:
                required = serializers.Field.default_error_messages["required"]
                raise serializers.ValidationError({name: required for name in missing})
        return attrs


class DingTalkGroupSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True)
    app = serializers.SlugRelatedField(slug_field="public_id", read_only=True)

    class Meta:
        model = DingTalkGroup
        fields = [
            "id",
            "app",
            "open_conversation_id",
            "name",
            "status",
            "first_seen_at",
            "status_changed_at",
            "renamed_at",
        ]
        read_only_fields = fields


CheckSerializer = inline_serializer(
    "DingTalkCheckResult", {"ok": serializers.BooleanField(), "message": serializers.CharField()}
)


class DingTalkAppViewSet(viewsets.ModelViewSet):
    """DingTalk internal apps (IM integrations)."""

    serializer_class = DingTalkAppSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    lookup_field = "public_id"
    filterset_fields = ["platform", "enabled"]
    ordering_fields = ["name", "created_at"]
    queryset = DingTalkApp.objects.order_by("name", "id")

    @transaction.atomic
    def perform_update(self, serializer: DingTalkAppSerializer) -> None:
        serializer.save()

    @extend_schema(request=None, responses=CheckSerializer)
    @action(detail=True, methods=["post"])
    def check(self, request: Request, public_id: str | None = None) -> Response:
        """Fetch a fresh access token; DingTalk's error in plain words."""
        result = setup_check.check_configuration(self.get_object())
        return Response({"ok": result.ok, "message": result.message})


class DingTalkGroupViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Groups where an app's cool app is (or was) installed; kept by DingTalk's group events,
    read-only."""

    serializer_class = DingTalkGroupSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    filterset_fields = {"app__public_id": ["exact"], "status": ["exact"]}
    ordering_fields = ["name"]
    queryset = DingTalkGroup.objects.select_related("app").order_by("app_id", "name", "id")


def register(router: BaseRouter) -> None:
    router.register("dingtalk-apps", DingTalkAppViewSet, basename="dingtalk-app")
    router.register("dingtalk-groups", DingTalkGroupViewSet, basename="dingtalk-group")
