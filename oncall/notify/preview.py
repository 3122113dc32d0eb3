"""Checking and previewing templates before they are saved: the admin's editor and the API.

A body is checked three ways, each error in words with the line where the engine knows it:
its syntax, the names it reads (a typo, or Go's ``.Title`` left unconverted), and a trial
render on the built-in sample incident (as the knowledge base's console checks with mock
data). A preview renders on a real incident when one is given, else on the sample.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from oncall.events import Severity
from oncall.models import Alert, Channel, Incident
from oncall.notify.choose import variables
from oncall.notify.engine import Medium, TemplateFailure, render, unknown_names
from oncall.notify.media import media


def sample_incident() -> tuple[Incident, list[Alert]]:
    """An incident that is never stored, with two alerts, for checks and previews."""
    now = timezone.now()
    channel = Channel(name=_("Sample channel"))
    incident = Incident(
        public_id=uuid.UUID(int=42),
        number=42,
        channel=channel,
        title=_("Disk 95% full on db-1"),
        severity=Severity.CRITICAL,
        created_at=now - timedelta(minutes=15),
        last_alert_at=now - timedelta(minutes=2),
        alert_count=2,
    )
    alerts = [
        Alert(
            incident=incident,
            channel=channel,
            alert_key=f"disk-db-{n}",
            title=_("Disk 95% full on db-{n}").format(n=n),
            description=_("/var is 95% full"),
            severity=Severity.CRITICAL,
            labels={"resource": f"db-{n}", "service": "postgres", "env": "prod"},
            first_seen=now - timedelta(minutes=15 - n),
            last_seen=now - timedelta(minutes=2),
        )
        for n in (1, 2)
    ]
    return incident, alerts


def check(body: str, medium: Medium) -> list[str]:
    """What is wrong with ``body`` for ``medium`` (empty: nothing)."""
    incident, alerts = sample_incident()
    known = variables(incident, medium, alerts=alerts)
    try:
        unknown = unknown_names(body, known)
    except TemplateFailure as failure:
        return [str(failure)]
    if unknown:
        return [_("Unknown variables or functions: %(names)s.") % {"names": ", ".join(unknown)}]
    try:
        render(body, known, medium)
    except TemplateFailure as failure:
        return [_("It fails on the sample incident: %(reason)s") % {"reason": failure}]
    return []


def preview(bodies: dict[str, str], incident: Incident | None = None) -> dict[str, dict[str, Any]]:
    """Each medium's output for ``bodies`` (a medium left out: its default), on ``incident`` or
    the sample: ``{"medium": {"text": ..., "error": ..., "default": bool}}``."""
    alerts: list[Alert] | None = None
    if incident is None:
        incident, alerts = sample_incident()
    shown: dict[str, dict[str, Any]] = {}
    for medium in media():
        body = bodies.get(medium.name) or ""
        data = variables(incident, medium, alerts=alerts)
        try:
            text = render(body or medium.default, data, medium)
            shown[medium.name] = {"text": text, "error": "", "default": not body}
        except TemplateFailure as failure:
            shown[medium.name] = {"text": "", "error": str(failure), "default": not body}
    return shown
