"""The normalised alert event: what every alert-source parser produces.

A parser is a pure function ``parse(payload) -> list[AlertEvent]`` living in one folder per
source under ``integrations/sources/`` (the contract is :class:`oncall.sources.SourceKind`). It
never touches the database: the ingestion service stores, routes and merges what it returns.
Parsers raise :class:`PayloadError` for payloads the console cannot use; the push view turns that
into a 400 with the reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_LABELS = 50
MAX_LABEL_KEY_CHARS = 128
MAX_LABEL_VALUE_CHARS = 2048
MAX_TITLE_CHARS = 512
MAX_DESCRIPTION_CHARS = 16_384


class Severity(models.TextChoices):
    # Ordered from most to least urgent; ``rank`` relies on this order.
    CRITICAL = "critical", _("Critical")
    WARNING = "warning", _("Warning")
    INFO = "info", _("Info")

    @property
    def rank(self) -> int:
        """0 for the most urgent; used to keep an incident at its worst alert's severity."""
        return list(Severity).index(self)

    @classmethod
    def most_urgent(cls, *severities: str) -> Severity:
        return min((cls(s) for s in severities), key=lambda s: s.rank)


class EventKind(models.TextChoices):
    FIRING = "firing", _("Firing")
    RESOLVED = "resolved", _("Resolved")
    # Only PagerDuty-compatible senders say this: the alert is being handled elsewhere.
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")


class PayloadError(ValueError):
    """The payload is not something the console can use. ``field`` points at the culprit."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str]:
        return {"message": self.message, **({"field": self.field} if self.field else {})}


@dataclass(frozen=True)
class Link:
    href: str
    text: str = ""


@dataclass(frozen=True)
class Image:
    src: str
    alt: str = ""
    href: str = ""


@dataclass(frozen=True)
class PipelineStep:
    """A pipeline rule that changed an event (``oncall.noise.pipelines``)."""

    rule: str  # its public id
    name: str
    action: str


@dataclass(frozen=True)
class AlertEvent:
    """One thing a monitoring system said about one alert.

    ``alert_key`` is the dedup identity within the source. ``raw_severity`` is the sender's own
    word (``"P1"``, ``"disaster"``) so that a source's severity overrides can remap it;
    ``severity`` is the parser's default mapping of it.
    """

    alert_key: str
    kind: EventKind
    title: str
    severity: Severity
    raw_severity: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    images: tuple[Image, ...] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # What the source's pipeline did to it: the rules that changed it, and whether one
    # dropped it (it then opens no incident). Set at ingestion, never by a parser.
    pipeline: tuple[PipelineStep, ...] = ()
    dropped: bool = False

    def to_json(self) -> dict[str, Any]:
        # Spelled out rather than dataclasses.asdict, whose deep copying cost more than the
        # rest of accepting an event (it runs for every event of every push).
        data: dict[str, Any] = {
            "alert_key": self.alert_key,
            "kind": str(self.kind),
            "title": self.title,
            "severity": str(self.severity),
            "raw_severity": self.raw_severity,
            "description": self.description,
            "labels": dict(self.labels),
            "links": [{"href": link.href, "text": link.text} for link in self.links],
            "images": [{"src": i.src, "alt": i.alt, "href": i.href} for i in self.images],
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
        }
        if self.pipeline:  # most events have none: kept out of the stored push and previews
            data["pipeline"] = [
                {"rule": step.rule, "name": step.name, "action": step.action}
                for step in self.pipeline
            ]
            data["dropped"] = self.dropped
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertEvent:
        return cls(
            alert_key=data["alert_key"],
            kind=EventKind(data["kind"]),
            title=data["title"],
            severity=Severity(data["severity"]),
            raw_severity=data.get("raw_severity", ""),
            description=data.get("description", ""),
            labels=dict(data.get("labels") or {}),
            links=tuple(Link(**link) for link in data.get("links") or ()),
            images=tuple(Image(**image) for image in data.get("images") or ()),
            starts_at=_parse_iso(data.get("starts_at")),
            ends_at=_parse_iso(data.get("ends_at")),
            pipeline=tuple(PipelineStep(**step) for step in data.get("pipeline") or ()),
            dropped=bool(data.get("dropped")),
        )


def _parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def stable_key(*parts: Any) -> str:
    """A short deterministic identity for senders that give none (sorted JSON, SHA-256)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class AcceptResult:
    """What the push view accepted, handed to its source's ``accepted_answer``."""

    request_id: str
    events: list[AlertEvent]
    # alert_keys of events that matched no route of a shared source (and it has no default).
    unrouted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
