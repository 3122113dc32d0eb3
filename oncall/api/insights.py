"""``GET /api/v1/insights/``: the insights page's figures as JSON, for one channel or every
channel the caller may see (``oncall.permissions.insight_channels``)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oncall.api.serializers import PersonSerializer
from oncall.insights.figures import compute
from oncall.insights.query import TARGET_MAX_MINUTES, BadRequest, api_scope


class ChannelRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ResponseFiguresSerializer(serializers.Serializer):
    incidents = serializers.IntegerField(help_text="Incidents opened in the period.")
    alerts = serializers.IntegerField(help_text="Alerts of those incidents.")
    events = serializers.IntegerField(help_text="Events merged into those alerts.")
    alerts_per_incident = serializers.FloatField(allow_null=True)
    noise_reduction = serializers.FloatField(
        allow_null=True, help_text="1 - incidents / alerts: the share of alerts grouped away."
    )
    acknowledged = serializers.IntegerField(help_text="Incidents claimed or acknowledged.")
    acknowledged_share = serializers.FloatField(allow_null=True)
    ack_within_target = serializers.IntegerField(
        help_text="Incidents first claimed within the target."
    )
    ack_within_target_share = serializers.FloatField(
        allow_null=True, help_text="Of all the period's incidents (0 to 1)."
    )
    closed = serializers.IntegerField()
    mtta_median = serializers.FloatField(
        allow_null=True, help_text="Seconds from opening to the first claim, median."
    )
    mtta_p90 = serializers.FloatField(allow_null=True, help_text="90th percentile (seconds).")
    mttr_median = serializers.FloatField(
        allow_null=True, help_text="Seconds from opening to closing (closed ones), median."
    )
    mttr_p90 = serializers.FloatField(allow_null=True, help_text="90th percentile (seconds).")


class ChannelFiguresSerializer(ResponseFiguresSerializer):
    channel = ChannelRefSerializer()


class SourceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()


class InsightsSerializer(serializers.Serializer):
    period = inline_serializer(
        "InsightsPeriod",
        {
            "since": serializers.DateTimeField(),
            "until": serializers.DateTimeField(help_text="Exclusive."),
            "time_zone": serializers.CharField(help_text="Days and hours are counted in it."),
            "first_day": serializers.DateField(),
            "last_day": serializers.DateField(),
        },
    )
    channel = ChannelRefSerializer(allow_null=True, help_text="Null: every channel you see.")
    ack_target_seconds = serializers.IntegerField()
    night = inline_serializer(
        "InsightsNight",
        {"start_hour": serializers.IntegerField(), "end_hour": serializers.IntegerField()},
    )
    summary = ResponseFiguresSerializer()
    channels = ChannelFiguresSerializer(many=True)
    by_day = inline_serializer(
        "InsightsDay",
        {"date": serializers.DateField(), "incidents": serializers.IntegerField()},
        many=True,
    )
    by_hour = inline_serializer(
        "InsightsHour",
        {"hour": serializers.IntegerField(), "incidents": serializers.IntegerField()},
        many=True,
    )
    by_weekday = inline_serializer(
        "InsightsWeekday",
        {
            "weekday": serializers.IntegerField(help_text="ISO: 1 is Monday."),
            "incidents": serializers.IntegerField(),
        },
        many=True,
    )
    top_alerts = inline_serializer(
        "InsightsAlert",
        {
            "alert_key": serializers.CharField(),
            "title": serializers.CharField(),
            "alerts": serializers.IntegerField(),
            "events": serializers.IntegerField(),
        },
        many=True,
    )
    top_sources = inline_serializer(
        "InsightsSource",
        {
            "source": SourceRefSerializer(allow_null=True),
            "alerts": serializers.IntegerField(),
            "events": serializers.IntegerField(),
        },
        many=True,
    )
    responders = inline_serializer(
        "InsightsResponder",
        {
            "user": PersonSerializer(),
            "notifications": serializers.IntegerField(),
            "night_notifications": serializers.IntegerField(),
            "claims": serializers.IntegerField(),
            "night_claims": serializers.IntegerField(),
        },
        many=True,
    )


ERROR = inline_serializer(
    "InsightsError",
    {
        "error": inline_serializer(
            "InsightsErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "field": serializers.CharField(),
            },
        )
    },
)


class InsightsView(APIView):
    """Incidents, alerts, noise, response times, when incidents open and responders' load."""

    @extend_schema(
        operation_id="insights",
        parameters=[
            OpenApiParameter(
                "channel", OpenApiTypes.UUID, description="A channel's id; without: all yours."
            ),
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="A date (YYYY-MM-DD, from that day's start in the console's time "
                "zone) or an ISO 8601 time. Default: 30 days before `until`.",
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.STR,
                description="A date (that whole day included) or an ISO 8601 time (excluded). "
                "Default: the end of today. At most 366 days after `since`.",
            ),
            OpenApiParameter(
                "target",
                OpenApiTypes.INT,
                description=f"Acknowledgement target in minutes (1 to {TARGET_MAX_MINUTES}); "
                "default INSIGHTS_ACK_TARGET_MINUTES.",
            ),
        ],
        responses={
            200: InsightsSerializer,
            400: OpenApiResponse(
                ERROR,
                description="`invalid_date`, `invalid_range` (since not before until), "
                "`range_too_long` (over 366 days), `invalid_target`, or `unknown_channel` (no "
                "such channel, or not one of yours).",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            scope, channel = api_scope(
                request.user, request.query_params, timezone.now(), timezone.get_current_timezone()
            )
        except BadRequest as exc:
            return Response(
                {"error": {"code": exc.code, "message": exc.message, "field": exc.field}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        figures = compute(scope)
        figures["channel"] = (
            {"id": str(channel.public_id), "name": channel.name} if channel else None
        )
        return Response(InsightsSerializer(figures).data)
