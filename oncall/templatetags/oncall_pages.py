"""Template tags of the responder pages."""

from __future__ import annotations

from typing import Any

from django import template

from oncall import timeline
from oncall.sections import Section, sections

register = template.Library()


@register.simple_tag(takes_context=True)
def integration_sections(context: dict[str, Any], setting: str, *args: Any) -> list[Section]:
    """``{% integration_sections "LOGIN_PAGE_SECTIONS" as found %}``: for pages rendered by
    views the console does not own (allauth's), where the view cannot add them."""
    return sections(setting, context["request"], *args)


@register.filter
def display_name(user: Any) -> str:
    """``{{ person|display_name }}``: a person named as cards and the timeline name them."""
    return timeline.display_name(user)
