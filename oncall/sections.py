"""Parts of the console's pages that integrations contribute (the core imports no platform).

A setting names callables, e.g. ``INCIDENT_PAGE_SECTIONS``; each takes the request and the page's
object and returns a :class:`Section` to include, or None to show nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Section:
    """A template to include and its context (``section`` in that template)."""

    template_name: str
    context: dict[str, Any] = field(default_factory=dict)


def _providers(setting: str) -> list[Callable[..., Section | None]]:
    # Read on every call: a changed setting (tests, reloads) takes effect at once.
    return [import_string(path) for path in getattr(settings, setting)]


def sections(setting: str, request: HttpRequest, *args: Any) -> list[Section]:
    """The sections the callables named by ``setting`` contribute, in the setting's order."""
    found = (provider(request, *args) for provider in _providers(setting))
    return [section for section in found if section is not None]
