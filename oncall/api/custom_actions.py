"""Custom incident actions (``/api/v1/incident-actions/``) and link integrations
(``/api/v1/channel-links/``): channel configuration, so members read those of their channels
and changes take the admin's model permissions (``oncall.permissions``).

An action's headers are write-only (their values often carry a receiver's token: an answer
names them only), and its signing secret is shown once, in the answer that created it or
rotated it.
"""

from __future__ import annotations

import copy
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from oncall.api.serializers import public_id_field
from oncall.custom_actions import templates
from oncall.models import Channel, CustomAction, CustomActionRun, Incident, LinkIntegration
from oncall.permissions import (
    MembersReadModelPermissionsWrite,
    configuration_channels,
    has_model_permission,
)
from oncall.timeline import display_name
from oncall.webhooks import headers as custom_headers

RUNS_SHOWN = 50


class CustomActionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channels = public_id_field(Channel.objects.all(), many=True)
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        write_only=True,
        required=False,
        help_text="Sent with every call; write-only (stored encrypted). Given, it replaces "
        "all of the action's headers.",
    )
    header_names = serializers.SerializerMethodField(help_text="The names of its headers.")
    signing_secret = serializers.SerializerMethodField(
        help_text="The whsec_ secret calls are signed with: in the answer that created the "
        "action only (and in rotate-secret's); null otherwise."
    )

    class Meta:
        model = CustomAction
        fields = [
            "id",
            "name",
            "description",
            "enabled",
            "channels",
            "icon",
            "colour",
            "style",
            "confirm",
            "url",
            "method",
            "headers",
            "header_names",
            "body_kind",
            "body_template",
            "content_type",
            "signing_secret",
            "previous_secret_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["previous_secret_until", "created_at", "updated_at"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_header_names(self, instance: CustomAction) -> list[str]:
        return sorted(instance.headers)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_signing_secret(self, instance: CustomAction) -> str | None:
        return instance.signing_secret if self.context.get("show_secret") else None

    def validate_headers(self, value: dict[str, str]) -> dict[str, str]:
        try:
            return custom_headers.check(value)
        except DjangoValidationError as error:
            raise ValidationError(error.messages) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = copy.copy(self.instance) if self.instance else CustomAction()
        for name, value in attrs.items():
            if name != "channels":
                setattr(candidate, name, value)  # headers too: the model's clean checks them
        try:
            candidate.clean()
        except DjangoValidationError as error:
            raise ValidationError(_as_detail(error)) from None
        return attrs

    def save(self, **kwargs: Any) -> CustomAction:
        try:
            with transaction.atomic():  # the channels' locks held until the action is in them
                return super().save(**kwargs)
        except DjangoValidationError as error:  # the channels' room, counted under their locks
            raise ValidationError(_as_detail(error)) from None

    def create(self, validated: dict[str, Any]) -> CustomAction:
        return self._save(CustomAction(), validated)

    def update(self, instance: CustomAction, validated: dict[str, Any]) -> CustomAction:
        return self._save(instance, validated)

    def _save(self, instance: CustomAction, validated: dict[str, Any]) -> CustomAction:
        channels = validated.pop("channels", None)
        headers = validated.pop("headers", None)
        for name, value in validated.items():
            setattr(instance, name, value)
        if headers is not None:
            instance.headers = headers
        if channels is not None:
            instance.check_room_in(channels)
        instance.save()
        if channels is not None:
            instance.channels.set(channels)
        return instance


def _as_detail(error: DjangoValidationError) -> Any:
    return error.message_dict if hasattr(error, "error_dict") else error.messages


class CustomActionRunSerializer(serializers.ModelSerializer):
    incident = serializers.UUIDField(source="incident.public_id", read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = CustomActionRun
        fields = [
            "incident",
            "actor",
            "source",
            "status",
            "message_id",
            "created_at",
            "called_at",
            "finished_at",
            "status_code",
            "duration_ms",
            "error",
            "answer",
        ]
        read_only_fields = fields

    def get_actor(self, run: CustomActionRun) -> str:
        return display_name(run.actor) if run.actor_id else ""


class ActionFilter(django_filters.FilterSet):
    channel = django_filters.UUIDFilter(field_name="channels__public_id", label="Channel id")

    class Meta:
        model = CustomAction
        fields = ["channel", "enabled"]


class CustomActionViewSet(viewsets.ModelViewSet):
    """Custom incident actions: buttons on the incidents of their channels that call a URL,
    signed the Standard Webhooks way (``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature`` with the action's ``whsec_`` secret). Running one is
    ``POST /api/v1/incidents/<id>/actions/action:<n>/`` (the incident's ``actions``)."""

    serializer_class = CustomActionSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    filterset_class = ActionFilter
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet:
        actions = CustomAction.objects.prefetch_related("channels").order_by("name", "id")
        if has_model_permission(self.request.user, CustomAction, "view"):
            return actions  # those offered in no channel (yet) too
        readable = configuration_channels(self.request.user, CustomAction).values("pk")
        return actions.filter(channels__in=readable).distinct()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        serializer.context["show_secret"] = True
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CustomActionSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, public_id: str | None = None) -> Response:
        """A new signing secret, shown in this answer only. The old one signs too for
        ``CUSTOM_ACTION_SECRET_OVERLAP_HOURS`` (``previous_secret_until``), so the receiver
        keeps verifying until it is given the new one."""
        instance = self.get_object()
        instance.rotate_secret()
        shown = self.get_serializer(instance)
        shown.context["show_secret"] = True
        return Response(shown.data)

    @extend_schema(request=None, responses=CustomActionRunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, public_id: str | None = None) -> Response:
        """Its latest calls, newest first: who, from where, the answer or the error."""
        instance = self.get_object()
        recent = instance.runs.select_related("incident", "actor")[:RUNS_SHOWN]
        return Response(CustomActionRunSerializer(recent, many=True).data)

    @extend_schema(
        request=inline_serializer(
            "CustomActionPreviewRequest",
            {
                "body_template": serializers.CharField(),
                "content_type": serializers.CharField(default="application/json"),
                "incident": serializers.UUIDField(required=False),
            },
        ),
        responses=inline_serializer(
            "CustomActionPreview",
            {"text": serializers.CharField(), "error": serializers.CharField()},
        ),
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """Try a body template: rendered on an incident you can see, or on the built-in
        sample. Nothing is called or saved."""
        body = request.data.get("body_template")
        content_type = request.data.get("content_type") or "application/json"
        if not isinstance(body, str) or not isinstance(content_type, str):
            raise ValidationError({"body_template": [_("Give the template as text.")]})
        incident = None
        if request.data.get("incident"):
            from oncall.permissions import visible_incidents

            try:
                incident = visible_incidents(request.user).get(
                    public_id=str(request.data["incident"])
                )
            except (Incident.DoesNotExist, DjangoValidationError, ValueError):
                raise ValidationError({"incident": [_("No such incident.")]}) from None
        return Response(templates.preview_body(body, content_type, incident))


class LinkIntegrationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = public_id_field(Channel.objects.all())

    class Meta:
        model = LinkIntegration
        fields = ["id", "channel", "name", "url_template", "position", "created_at"]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = LinkIntegration(
            pk=self.instance.pk if self.instance else None,
            channel=attrs.get("channel", getattr(self.instance, "channel", None)),
        )
        try:
            candidate.clean()
        except DjangoValidationError as error:
            raise ValidationError({"channel": error.messages}) from None
        return attrs

    def save(self, **kwargs: Any) -> LinkIntegration:
        try:
            return super().save(**kwargs)
        except DjangoValidationError as error:  # the limit, counted again under the lock
            raise ValidationError({"channel": error.messages}) from None


class LinkFilter(django_filters.FilterSet):
    channel = django_filters.UUIDFilter(field_name="channel__public_id", label="Channel id")

    class Meta:
        model = LinkIntegration
        fields = ["channel"]


class LinkIntegrationViewSet(viewsets.ModelViewSet):
    """Link integrations: up to three links per channel, shown with its incidents (on cards and
    the incident page, and in the incident's ``links``), each URL a template over the incident
    (``{{ Labels.service }}``, ``{{ Num }}``...); a missing value is left empty."""

    serializer_class = LinkIntegrationSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    filterset_class = LinkFilter
    ordering_fields = ["position", "name"]

    def get_queryset(self) -> QuerySet:
        readable = configuration_channels(self.request.user, LinkIntegration).values("pk")
        return (
            LinkIntegration.objects.filter(channel__in=readable)
            .select_related("channel")
            .order_by("channel__name", "position", "id")
        )
