"""Parts of the console's pages that chat platforms contribute (the core imports no platform).

Each installed platform (``oncall.platforms``) may add one :class:`Section` to an incident's
page, to "My account" and to the sign-in page: a template to include and its context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from oncall.platforms import platforms


@dataclass(frozen=True)
class Section:
    """A template to include and its context (``section`` in that template)."""

    template_name: str
    context: dict[str, Any] = field(default_factory=dict)


def _collect(ask: Callable[[Any], Section | None]) -> list[Section]:
    found = (ask(platform) for platform in platforms())
    return [section for section in found if section is not None]


def incident_sections(request: HttpRequest, incident: Any) -> list[Section]:
    """Whom the incident's notifications reached, per platform."""
    return _collect(lambda platform: platform.incident_section(request, incident))


def account_sections(request: HttpRequest) -> list[Section]:
    """The person's linked accounts, per platform."""
    return _collect(lambda platform: platform.account_section(request))


def login_sections(request: HttpRequest) -> list[Section]:
    """ "Sign in with ..." buttons, per platform."""
    return _collect(lambda platform: platform.login_section(request))
