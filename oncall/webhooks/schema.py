"""The webhook body as an OpenAPI component (``WebhookEventBody``), shown in /api/docs as the
callback of creating an endpoint: what the console POSTs to it. ``oncall.webhooks.payload``
builds the body; these serializers only describe it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiCallback, OpenApiResponse, extend_schema
from rest_framework import serializers

from oncall.events import Severity
from oncall.models import Alert, Incident
from oncall.models.webhooks import TEST_EVENT_TYPE, WebhookEventType

SECONDS = "Unix seconds; 0 when not (yet) the case."


class WebhookPersonSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    person_name = serializers.CharField()
    email = serializers.CharField()


class WebhookAlertSerializer(serializers.Serializer):
    alert_id = serializers.UUIDField()
    alert_key = serializers.CharField(help_text="The alert's deduplication key.")
    title = serializers.CharField()
    description = serializers.CharField()
    alert_severity = serializers.ChoiceField(choices=Severity.choices)
    alert_status = serializers.ChoiceField(choices=Alert.Status.choices)
    labels = serializers.DictField(child=serializers.CharField())
    start_time = serializers.IntegerField(help_text="First seen. " + SECONDS)
    last_time = serializers.IntegerField(help_text="Last event. " + SECONDS)
    end_time = serializers.IntegerField(help_text="Recovered. " + SECONDS)
    event_cnt = serializers.IntegerField(help_text="Events merged into the alert.")
    data_source_id = serializers.UUIDField(allow_null=True, help_text="The alert source.")
    data_source_name = serializers.CharField()
    data_source_type = serializers.CharField(help_text="The source's kind.")


class WebhookIncidentSerializer(serializers.Serializer):
    incident_id = serializers.UUIDField()
    number = serializers.IntegerField(help_text="#N, as people name it.")
    title = serializers.CharField()
    incident_severity = serializers.ChoiceField(choices=Severity.choices)
    progress = serializers.ChoiceField(choices=Incident.Status.choices)
    channel_id = serializers.UUIDField()
    channel_name = serializers.CharField()
    detail_url = serializers.URLField(help_text="The incident's page in the console.")
    created_at = serializers.IntegerField(help_text=SECONDS)
    updated_at = serializers.IntegerField(help_text=SECONDS)
    start_time = serializers.IntegerField(help_text="Triggered. " + SECONDS)
    last_time = serializers.IntegerField(help_text="Its latest alert. " + SECONDS)
    ack_time = serializers.IntegerField(help_text="First claimed. " + SECONDS)
    close_time = serializers.IntegerField(help_text=SECONDS)
    snoozed_before = serializers.IntegerField(help_text="Snoozed until. " + SECONDS)
    claimer = WebhookPersonSerializer(allow_null=True, help_text="Who holds the claim.")
    acknowledged_by_source = serializers.CharField(
        help_text="The alert source that acknowledged it, when no person did."
    )
    closer = WebhookPersonSerializer(allow_null=True)
    creator = WebhookPersonSerializer(allow_null=True, help_text="Who opened it by hand.")
    assignee = WebhookPersonSerializer(allow_null=True)
    merged_into = serializers.UUIDField(allow_null=True)
    alert_cnt = serializers.IntegerField()
    labels = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Incident events only."
    )
    alerts = WebhookAlertSerializer(
        many=True,
        required=False,
        help_text="Incident events only: its latest 50 alerts, oldest first.",
    )


class WebhookEventBodySerializer(serializers.Serializer):
    event_id = serializers.CharField(
        help_text="The event's id, also the webhook-id header: the same on every retry; "
        "deduplicate with it."
    )
    event_type = serializers.ChoiceField(
        choices=[*WebhookEventType.choices, (TEST_EVENT_TYPE, "a test event")]
    )
    event_time = serializers.IntegerField(help_text="When it happened, Unix milliseconds.")
    sequence = serializers.IntegerField(
        help_text="The event's number among its incident's events (1, 2, ...): events of one "
        "incident arrive in this order; 0 for test events."
    )
    person = WebhookPersonSerializer(allow_null=True, help_text="Who did it, for a person.")
    incident = WebhookIncidentSerializer(required=False, help_text="Not in test events.")
    alert = WebhookAlertSerializer(required=False, help_text="Alert events (a_...) only.")
    detail = serializers.DictField(
        required=False,
        help_text="Incident events: message (the timeline's words), level (i_assign by "
        "escalation), note (i_comm).",
    )
    message = serializers.CharField(required=False, help_text="Test events only.")


EVENT_CALLBACK = OpenApiCallback(
    "event",
    "{$request.body#/url}",
    extend_schema(
        summary="What the console POSTs to the endpoint",
        description=(
            "One POST per event, with the Standard Webhooks headers webhook-id, "
            "webhook-timestamp and webhook-signature (v1, HMAC-SHA256 with the endpoint's "
            "whsec_ secret). Answer 2xx within 15 s; 408, 429 (Retry-After honoured), 5xx "
            "and network errors are retried for about a day, other answers are final."
        ),
        request=WebhookEventBodySerializer,
        responses={200: OpenApiResponse(description="Received")},
    ),
)
