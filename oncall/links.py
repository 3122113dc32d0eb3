"""Absolute URLs of console pages, for messages read outside the console (Feishu cards)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from oncall.models import Incident


def incident_url(incident: Incident) -> str:
    """The incident's web page, under ``PUBLIC_BASE_URL`` (read when called, so tests and a
    changed setting take effect)."""
    path = reverse("incident-detail", kwargs={"public_id": incident.public_id})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def absolute_url(url: str) -> str:
    """``url`` as is when absolute, else under ``PUBLIC_BASE_URL`` (a site-relative path)."""
    return f"{settings.PUBLIC_BASE_URL}{url}" if url.startswith("/") else url


# The names the console's parsers give the links they take from a payload (Alertmanager's
# generatorURL is "Source", Grafana's panelURL "Panel"): stored with the alert in English,
# shown in the reader's language. A sender's own link text is shown as it is.
CONSOLE_LINK_NAMES = {
    "Source": _("Source"),
    "Runbook": _("Runbook"),
    "Dashboard": _("Dashboard"),
    "Panel": _("Panel"),
    "Silence": _("Silence"),
    "Rule": _("Rule"),
    "CloudWatch alarm": _("CloudWatch alarm"),
}


def link_name(text: str) -> str:
    """A link's name for people: in the active language where the console named it."""
    return str(CONSOLE_LINK_NAMES.get(text, text))
