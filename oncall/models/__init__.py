from oncall.models.calendars import CalendarFeed
from oncall.models.changes import ChangeEvent
from oncall.models.channels import Channel
from oncall.models.custom_actions import CustomAction, CustomActionRun, LinkIntegration
from oncall.models.early_resolves import EarlyResolve
from oncall.models.escalation import EscalationLevel, EscalationRule
from oncall.models.flapping import FlapState
from oncall.models.incidents import ActionSource, Alert, Counter, Incident, TimelineEntry
from oncall.models.inhibition import InhibitRule
from oncall.models.notes import IncidentNote
from oncall.models.pipelines import PipelineRule
from oncall.models.refused_pushes import RefusedPush
from oncall.models.schedules import (
    LayerParticipant,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ShiftNotice,
)
from oncall.models.shift_swaps import ShiftSwap
from oncall.models.silences import MaintenanceWindow, Silence, SilenceHold
from oncall.models.sources import AlertSource, InboundEvent, Route
from oncall.models.templates import NotificationTemplate
from oncall.models.tokens import ApiToken
from oncall.models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
    WebhookSequence,
)

__all__ = [
    "ActionSource",
    "Alert",
    "AlertSource",
    "ApiToken",
    "CalendarFeed",
    "ChangeEvent",
    "Channel",
    "Counter",
    "CustomAction",
    "CustomActionRun",
    "EarlyResolve",
    "EscalationLevel",
    "EscalationRule",
    "FlapState",
    "InboundEvent",
    "Incident",
    "IncidentNote",
    "InhibitRule",
    "LayerParticipant",
    "LinkIntegration",
    "MaintenanceWindow",
    "NotificationTemplate",
    "PipelineRule",
    "RefusedPush",
    "Route",
    "Schedule",
    "ScheduleLayer",
    "ScheduleOverride",
    "ShiftNotice",
    "ShiftSwap",
    "Silence",
    "SilenceHold",
    "TimelineEntry",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookSequence",
]
