"""The REST API's inhibition rules (``oncall.noise.inhibition``). The
channel's grouping, storm and flapping settings are fields of the channel resource."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from rest_framework import permissions, serializers, viewsets

from oncall.api.serializers import public_id_field
from oncall.models import AlertSource, Channel, InhibitRule
from oncall.permissions import MembersReadModelPermissionsWrite, configuration_channels


class InhibitRuleSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = public_id_field(
        Channel.objects.all(),
        allow_null=True,
        required=False,
        help_text="The channel whose alerts it inhibits; give a channel or a source.",
    )
    source = public_id_field(
        AlertSource.objects.all(),
        allow_null=True,
        required=False,
        help_text="The alert source whose alerts it inhibits, in whichever channel.",
    )

    class Meta:
        model = InhibitRule
        fields = [
            "id",
            "name",
            "channel",
            "source",
            "enabled",
            "new_alert_condition",
            "active_condition",
            "equal",
            "window_minutes",
            "action",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The model's own checks (one of channel and source; something to compare)."""
        rule = InhibitRule(**{**self._current(), **attrs})
        try:
            rule.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages
            ) from None
        return attrs

    def _current(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        fields = ["channel", "source", "new_alert_condition", "equal"]
        return {name: getattr(self.instance, name) for name in fields}


class InhibitRuleViewSet(viewsets.ModelViewSet):
    """Inhibition rules of channels and alert sources. Members read the rules of their
    channels (and of their channels' private sources); staff read and change them as their
    permissions allow."""

    serializer_class = InhibitRuleSerializer
    permission_classes = [permissions.IsAuthenticated, MembersReadModelPermissionsWrite]
    lookup_field = "public_id"
    filterset_fields = {"channel__public_id": ["exact"], "source__public_id": ["exact"]}
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet:
        readable = configuration_channels(self.request.user, InhibitRule).values("pk")
        return (
            InhibitRule.objects.filter(Q(channel__in=readable) | Q(source__channel__in=readable))
            .select_related("channel", "source")
            .order_by("name", "id")
        )
