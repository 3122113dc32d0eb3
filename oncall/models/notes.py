from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from oncall.models.incidents import source_label
from oncall.notes import editable_until, render_markdown


class IncidentNote(models.Model):
    """A responder's note on an incident, written in Markdown from the page, the API or a chat
    platform (a reply to the incident's card).

    A note is its own row rather than a timeline entry's text because it changes: its author
    may edit or delete it for ``NOTE_EDIT_WINDOW_MINUTES`` after writing it, while entries are
    history and never change. Each note has one timeline entry of kind ``note`` (created with
    it, at the same moment, deleted with it), which places it among the incident's other
    events. Only ``oncall.lifecycle`` writes notes.

    ``origin`` is the id of the message a note was made from on a chat platform (empty
    otherwise): a message handled twice (a retried task) makes one note.
    """

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    # Indexed by ``note_incident_time``, whose first column it is.
    incident = models.ForeignKey(
        "oncall.Incident",
        on_delete=models.CASCADE,
        related_name="notes",
        db_index=False,
        verbose_name=_("incident"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(verbose_name=_("body"))
    # An ``ActionSource`` value (web, API), or the name of the chat platform it came through.
    source = models.CharField(max_length=32, verbose_name=_("source"))
    origin = models.CharField(max_length=128, blank=True, default="", verbose_name=_("origin"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    edited_at = models.DateTimeField(null=True, blank=True, verbose_name=_("edited at"))

    class Meta:
        ordering = ["created_at", "id"]
        # An incident's notes in timeline order, and its latest note (cards), read backwards.
        indexes = [models.Index(fields=["incident", "created_at", "id"], name="note_incident_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "source", "origin"],
                condition=~models.Q(origin=""),
                name="note_one_per_message",
            )
        ]
        verbose_name = _("incident note")
        verbose_name_plural = _("incident notes")

    def __str__(self) -> str:
        return self.body[:80]

    @property
    def html(self) -> SafeString:
        return render_markdown(self.body)

    @property
    def source_label(self) -> str:
        return source_label(self.source)

    @property
    def editable_until(self) -> datetime:
        return editable_until(self.created_at)

    def editable_by(self, user: object, now: datetime | None = None) -> bool:
        """Whether ``user`` may still edit or delete this note (its author, in the window).
        The lifecycle service decides; pages ask this to offer the links."""
        author_id = self.author_id
        return (
            author_id is not None
            and getattr(user, "pk", None) == author_id
            and (now or timezone.now()) <= self.editable_until
        )
