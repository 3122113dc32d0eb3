"""The incident page (``/incidents/<public id>/``): what Feishu cards link to.

It shows the incident, its alerts with links back to their source, its timeline, what
chat platforms add (who was notified, ``oncall.sections``) and the actions its state
allows (``incident_actions``), and the form to add a note (``incident_notes``). One query
each for the session, the user, the incident (with channel and people), its alerts and its
timeline (with actors, and notes with their authors), however many there are, and one for the
changes under way before it opened (``oncall.changes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from oncall.changes import changes_before
from oncall.forms import NoteForm, SnoozeForm
from oncall.models import Alert, Incident, TimelineEntry
from oncall.permissions import visible_incidents
from oncall.sections import incident_sections
from oncall.views.incident_offers import offered_context
from oncall.wording import (
    ONE_CLICK_BUTTONS,
    available_actions,
    closer_name,
    display_state,
    status_line,
)


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    labels: list[tuple[str, str]]
    links: list[dict[str, str]]


@login_required
@require_GET
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return render_detail(request, public_id)


def render_detail(
    request: HttpRequest,
    public_id: UUID,
    *,
    snooze_form: Any = None,
    note_form: Any = None,
    status: int = 200,
) -> HttpResponse:
    incidents = visible_incidents(request.user).select_related(
        "channel", "claimed_by", "closed_by", "merged_into", "assigned_to", "created_by"
    )
    incident = get_object_or_404(
        incidents.prefetch_related(
            Prefetch("alerts", queryset=Alert.objects.order_by("first_seen", "pk")),
            Prefetch(
                "timeline",
                queryset=TimelineEntry.objects.select_related("actor", "note__author"),
            ),
        ),
        public_id=public_id,
    )
    now = timezone.now()
    state = display_state(incident, now)
    context = {
        "incident": incident,
        "state": state,
        "actions": [_action(name) for name in available_actions(incident, state)],
        "snooze_form": snooze_form or SnoozeForm(),
        "status_line": status_line(incident, now),
        "closed_by": closer_name(incident) if incident.status == Incident.Status.CLOSED else "",
        "alerts": [_alert_row(alert) for alert in incident.alerts.all()],
        "timeline": _timeline(incident, request.user, now),
        "sections": incident_sections(request, incident),
        "note_form": note_form or NoteForm(),
        "note_edit_minutes": settings.NOTE_EDIT_WINDOW_MINUTES,
        "changes": changes_before(incident),
        "change_lookback_minutes": settings.CHANGE_LOOKBACK_MINUTES,
        **offered_context(incident),
    }
    return render(request, "oncall/incident_detail.html", context, status=status)


def _timeline(incident: Incident, user: Any, now: Any) -> list[TimelineEntry]:
    """The entries in order; a note's entry knows whether the reader may still edit it."""
    entries = list(incident.timeline.all())
    for entry in entries:
        entry.note_editable = entry.note is not None and entry.note.editable_by(user, now)
    return entries


def _action(name: str) -> dict[str, Any]:
    label, primary = ONE_CLICK_BUTTONS.get(name, ("", False))
    return {"name": name, "label": label, "primary": primary}


def _alert_row(alert: Alert) -> AlertRow:
    labels = alert.labels if isinstance(alert.labels, dict) else {}
    return AlertRow(
        alert=alert,
        labels=sorted((str(key), str(value)) for key, value in labels.items()),
        links=[link for link in alert.links if _is_web_link(link)],
    )


def _is_web_link(link: object) -> bool:
    # Sources store only http(s) links; checked again because an href is executable markup.
    href = link.get("href") if isinstance(link, dict) else None
    return isinstance(href, str) and href.lower().startswith(("https://", "http://"))
