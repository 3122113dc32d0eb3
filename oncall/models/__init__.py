from oncall.models.channels import Channel
from oncall.models.incidents import ActionSource, Alert, Counter, Incident, TimelineEntry
from oncall.models.sources import AlertSource, InboundEvent, Route
from oncall.models.tokens import ApiToken

__all__ = [
    "ActionSource",
    "Alert",
    "AlertSource",
    "ApiToken",
    "Channel",
    "Counter",
    "InboundEvent",
    "Incident",
    "Route",
    "TimelineEntry",
]
