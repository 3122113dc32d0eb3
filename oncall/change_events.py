"""Change events: deployments, configuration changes, change tickets. What a change source yields.

Most incidents follow a change, so the console records changes next to alerts and shows an
incident the changes of its channel from the hour before it opened ("what changed right before
this broke"). A change is not an alert: it never opens, merges into or resolves an incident.

How a change source fits the source contract
    A change source is an ``AlertSource`` like any other (a kind, a push token, private to a
    channel or shared with routes, the same ``POST /push/<token>`` endpoint), so that the admin,
    the API, token rotation and routing serve it unchanged. Its kind subclasses
    :class:`ChangeSourceKind`, a sibling contract of ``SourceKind``: it implements
    :meth:`ChangeSourceKind.parse_changes` (pure, like ``parse``; ``parse_changes_push`` when
    it needs headers, options or the secret, like ``parse_push``), and its ``parse`` and
    ``parse_push`` yield no alert event at all. The push view asks "is this a change kind?" of
    the contract (``isinstance``), never of a kind's name, and hands the push to
    ``oncall.changes.accept`` instead of ``oncall.ingest.accept``. Why a subclass rather than a
    flag on ``SourceKind``: a change kind cannot forget ``parse_changes`` (it is abstract
    here), and ``SourceKind`` keeps one job (alerts), while everything else it offers
    (``handshake``, ``recognises``, ``setup_guide``, options, answers, ``urls``) applies to
    change kinds as it is.

This module is pure (no database): parsers import it; ``oncall.changes`` stores and queries.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SourceKind

MAX_CHANGE_KEY_CHARS = 255
MAX_CHANGE_TITLE_CHARS = 512
# The knowledge base's limit for a change's description.
MAX_CHANGE_DESCRIPTION_CHARS = 2048


class ChangeStatus(models.TextChoices):
    """The knowledge base's change statuses, in the order a change usually passes them."""

    PLANNED = "planned", _("Planned")
    READY = "ready", _("Ready")
    PROCESSING = "processing", _("Processing")
    CANCELED = "canceled", _("Canceled")
    DONE = "done", _("Done")

    @classmethod
    def from_word(cls, word: str) -> ChangeStatus | None:
        """The status a sender's word names (``"Done"``, ``"processing"``), else ``None``."""
        try:
            return cls(word.strip().lower())
        except ValueError:
            return None


@dataclass(frozen=True)
class ChangeRecord:
    """One thing a sender said about one change.

    ``change_key`` is the change's identity within its source: repeat events with the same key
    update one change. ``event_time`` is when the sender says this happened (``None``: now).
    With ``keep_first_text`` the title, description and link of the change's first event stay
    (Jira: the first push's summary names the change); otherwise a later event replaces them.
    """

    change_key: str
    title: str
    status: ChangeStatus
    description: str = ""
    link: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    event_time: datetime | None = None
    keep_first_text: bool = False


@dataclass(frozen=True)
class ChangeAcceptResult:
    """What a change push stored, handed to its kind's ``accepted_changes_answer``."""

    request_id: str
    changes: list[ChangeRecord]
    unrouted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ChangeSourceKind(SourceKind):
    """The contract of a change source (see the module docstring): implement
    :meth:`parse_changes`; override :meth:`accepted_changes_answer` only where the sender
    expects another answer."""

    def parse(self, payload: Any) -> list[AlertEvent]:
        """No alert event, ever: a change opens no incident. The payload is still checked, so
        that whoever calls this learns of a bad payload as a ``PayloadError``."""
        self.parse_changes(payload)
        return []

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        """No alert event either (see :meth:`parse`)."""
        self.parse_changes_push(payload, push)
        return []

    def parse_changes_push(self, payload: Any, push: PushRequest) -> list[ChangeRecord]:
        """The changes of one push, for a change kind that needs more than the body (headers,
        query, options, secret: ``SourceKind.parse_push``'s reasons). Raises ``PayloadError``
        or ``SourceRefused``."""
        return self.parse_changes(payload)

    @abstractmethod
    def parse_changes(self, payload: Any) -> list[ChangeRecord]:
        """The changes of one request's decoded JSON body. Pure: no database, no settings.

        Raises :class:`~oncall.events.PayloadError` (naming the field) for anything the console
        cannot use; an empty list means "understood, nothing to record" (a Jira comment)."""

    def accepted_changes_answer(self, result: ChangeAcceptResult) -> Answer:
        """200 with the request id and the change keys recorded."""
        return Answer(
            200,
            {
                "request_id": result.request_id,
                "accepted": len(result.changes) - len(result.unrouted),
                "change_keys": [change.change_key for change in result.changes],
                "unrouted": result.unrouted,
                "notes": result.notes,
            },
        )
