"""Absolute URLs of console pages, for messages read outside the console (Feishu cards)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from oncall.models import Incident


def incident_url(incident: Incident) -> str:
    """The incident's web page, under ``PUBLIC_BASE_URL`` (read when called, so tests and a
    changed setting take effect)."""
    path = reverse("incident-detail", kwargs={"public_id": incident.public_id})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def absolute_url(url: str) -> str:
    """``url`` as is when absolute, else under ``PUBLIC_BASE_URL`` (a site-relative path)."""
    return f"{settings.PUBLIC_BASE_URL}{url}" if url.startswith("/") else url
