"""Template tags of the responder pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from oncall import links, sections, timeline, wording
from oncall.sections import Section

register = template.Library()


@register.simple_tag(takes_context=True)
def login_sections(context: dict[str, Any]) -> list[Section]:
    """``{% login_sections as found %}``: the platforms' sign-in buttons, for the sign-in page
    that allauth's view renders (the console cannot add them in a view of its own)."""
    return sections.login_sections(context["request"])


@register.filter
def display_name(user: Any) -> str:
    """``{{ person|display_name }}``: a person named as cards and the timeline name them."""
    return timeline.display_name(user)


@register.filter
def link_text(text: str) -> str:
    """``{{ link.text|link_text }}``: a link's name, translated where the console named it."""
    return links.link_name(text)


@register.filter
def epoch_ms(moment: datetime) -> int:
    """``{{ when|epoch_ms }}``: milliseconds since 1970, for scripts that compare the server's
    times (a row's creation with the list's rendering) whatever the page's time zone."""
    return int(moment.timestamp() * 1000)


@register.filter
def ago(moment: datetime | None) -> str:
    """``{{ when|ago }}``: "just now", "5 minutes ago", "2 hours ago" (``wording.ago``)."""
    return wording.ago(moment, timezone.now())
