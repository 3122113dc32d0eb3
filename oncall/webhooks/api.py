"""REST API of outbound webhooks: ``/api/v1/webhooks/`` (endpoints, with their deliveries and
attempts), permissioned as other configuration (the admin's model permissions)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from oncall.models import Channel, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from oncall.models.webhooks import WebhookEventType
from oncall.permissions import ModelPermissions
from oncall.webhooks import delivery, endpoints
from oncall.webhooks import headers as custom_headers
from oncall.webhooks.schema import EVENT_CALLBACK


class WebhookEndpointSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channels = serializers.SlugRelatedField(
        slug_field="public_id",
        queryset=Channel.objects.all(),
        many=True,
        required=False,
        help_text="Without all_channels: the channels (ids) whose events are sent.",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        allow_empty=False,
        required=False,
        help_text="The events to send (default: all). See the WebhookEventBody schema.",
    )
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        write_only=True,
        required=False,
        help_text="Custom headers sent with every request. Write-only (values may be "
        "credentials, encrypted at rest): omit to keep, {} to remove.",
    )
    header_names = serializers.SerializerMethodField(help_text="The custom headers' names.")
    secret_rotation_ends_at = serializers.DateTimeField(
        source="previous_secret_until",
        read_only=True,
        help_text="Until then the previous secret signs too (after a rotation).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "description",
            "url",
            "enabled",
            "all_channels",
            "channels",
            "event_types",
            "headers",
            "header_names",
            "secret_rotation_ends_at",
            "failing_since",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["failing_since", "disabled_reason", "created_at", "updated_at"]

    def get_header_names(self, endpoint: WebhookEndpoint) -> list[str]:
        return sorted(endpoint.headers)

    def validate_headers(self, value: dict[str, str]) -> dict[str, str]:
        try:
            return custom_headers.check(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        all_channels = attrs.get("all_channels", getattr(self.instance, "all_channels", True))
        channels = attrs.get("channels")
        if channels is None and self.instance is not None:
            channels = list(self.instance.channels.all())
        if not all_channels and not channels:
            raise serializers.ValidationError(
                {"channels": ["Choose the channels, or set all_channels."]}
            )
        return attrs

    @transaction.atomic
    def create(self, validated: dict[str, Any]) -> WebhookEndpoint:
        channels = validated.pop("channels", [])
        headers = validated.pop("headers", {})
        endpoint = WebhookEndpoint(**validated)
        endpoint.headers = headers
        endpoint.save()
        endpoint.channels.set(channels)
        return endpoint

    @transaction.atomic
    def update(self, endpoint: WebhookEndpoint, validated: dict[str, Any]) -> WebhookEndpoint:
        channels = validated.pop("channels", None)
        if "headers" in validated:
            endpoint.headers = validated.pop("headers")
        if validated.get("enabled") and not endpoint.enabled:
            endpoints.enable(endpoint)
        for name, value in validated.items():
            setattr(endpoint, name, value)
        endpoint.save()
        if channels is not None:
            endpoint.channels.set(channels)
        return endpoint


class CreatedEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_...): shown this once, store it."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["started_at", "duration_ms", "status_code", "response_body", "error"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.event_id", read_only=True)
    event_type = serializers.CharField(source="event.event_type", read_only=True)
    occurred_at = serializers.DateTimeField(source="event.occurred_at", read_only=True)
    attempts_made = WebhookAttemptSerializer(source="tries", many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "occurred_at",
            "sequence",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "finished_at",
            "attempts_made",
        ]


class RotatedSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret: shown this once.")
    previous_secret_valid_until = serializers.DateTimeField(
        help_text="The old secret signs too until then."
    )


class WebhookEndpointViewSet(viewsets.ModelViewSet):
    """Outbound webhook endpoints. Each receives a signed POST (Standard Webhooks) per event it
    subscribes to; the body is the WebhookEventBody schema."""

    serializer_class = WebhookEndpointSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    lookup_field = "public_id"
    filterset_fields = ["enabled"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet:
        return WebhookEndpoint.objects.prefetch_related("channels").order_by("name")

    @extend_schema(responses={201: CreatedEndpointSerializer}, callbacks=[EVENT_CALLBACK])
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create an endpoint; the answer holds its signing secret, shown this once."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.save()
        data = {**self.get_serializer(endpoint).data, "secret": endpoint.current_secret}
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=RotatedSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, public_id: str | None = None) -> Response:
        """A new signing secret, shown this once; the old one signs too for
        ``WEBHOOK_SECRET_OVERLAP_HOURS``."""
        endpoint = self.get_object()
        secret = endpoint.rotate_secret()
        return Response(
            {"secret": secret, "previous_secret_valid_until": endpoint.previous_secret_until}
        )

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request: Request, public_id: str | None = None) -> Response:
        """Queue a test event (``event_type`` "test"); its delivery shows how it went."""
        sent = delivery.send_test_event(self.get_object())
        return Response(WebhookDeliverySerializer(sent).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"], url_path="deliveries")
    def deliveries(self, request: Request, public_id: str | None = None) -> Response:
        """The endpoint's deliveries, newest first, each with its attempts. ``?status=``
        pending, delivered or failed; ``?event_type=``."""
        rows = self.get_object().deliveries.select_related("event").prefetch_related("tries")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in WebhookDelivery.Status.values:
                raise serializers.ValidationError({"status": [f"Unknown status “{wanted}”."]})
            rows = rows.filter(status=wanted)
        if request.query_params.get("event_type"):
            rows = rows.filter(event__event_type=request.query_params["event_type"])
        page = self.paginate_queryset(rows.order_by("-id"))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={
            202: WebhookDeliverySerializer,
            404: OpenApiResponse(description="No such delivery of this endpoint"),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver",
    )
    def redeliver(
        self, request: Request, public_id: str | None = None, delivery_id: str = ""
    ) -> Response:
        """Send a delivery's event again, as a new delivery."""
        endpoint = self.get_object()
        try:
            original = endpoint.deliveries.get(pk=int(delivery_id))
        except WebhookDelivery.DoesNotExist:
            return Response({"detail": "No such delivery."}, status=status.HTTP_404_NOT_FOUND)
        again = delivery.redeliver(original)
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
