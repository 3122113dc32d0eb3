"""Template tags of the admin's own pages."""

from __future__ import annotations

from typing import Any

from django import template

from oncall.admin.home import Overview, overview

register = template.Library()


@register.simple_tag(takes_context=True)
def console_overview(context: dict[str, Any]) -> Overview:
    """``{% console_overview as overview %}``: the home page's overview for the reader
    (``oncall.admin.home``), read once per page."""
    return overview(context["request"].user)
