"""The REST API's inhibition rules (``oncall.noise.inhibition``). The
channel's grouping, storm and flapping settings are fields of the channel resource."""

from __future__ import annotations

from rest_framework import serializers

from oncall.api.noise import ChannelRowsViewSet, ModelCheckedSerializer
from oncall.api.serializers import public_id_field
from oncall.models import AlertSource, Channel, InhibitRule


class InhibitRuleSerializer(ModelCheckedSerializer):
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


class InhibitRuleViewSet(ChannelRowsViewSet):
    """Inhibition rules of channels and alert sources. Members read the rules of their
    channels (and of their channels' private sources); staff read and change them as their
    permissions allow."""

    model = InhibitRule
    serializer_class = InhibitRuleSerializer
    filterset_fields = {"channel__public_id": ["exact"], "source__public_id": ["exact"]}
    ordering_fields = ["name", "created_at"]
    ordering = ("name", "id")
