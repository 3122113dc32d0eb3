"""What the console's admins share: their media, and the read-only values they show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext


class AdminMedia:
    """The console's additions to an admin's media, as its ``Media`` (``Media = AdminMedia``),
    which Django adds to the admin's own (jQuery, core.js, ...). A ``media`` attribute would
    replace those instead: the time and filter widgets then failed ("quickElement is not
    defined") and an inline's "add another" left its boxes empty."""

    js = ["oncall/copy.js"]
    css = {"all": ["oncall/admin.css"]}


def copy_field(element_id: str, value: str) -> SafeString:
    """A read-only value with a Copy button (for URLs admins paste into other systems), its box
    as wide as the value (``size``; the style sheet keeps it within the page) so that the whole
    URL can be read before it is copied."""
    return format_html(
        '<span class="copy-field"><input id="{}" type="text" readonly value="{}" size="{}" '
        'aria-label="URL"><button type="button" class="button" data-copy-target="{}">{}'
        "</button></span>",
        element_id,
        value,
        len(value) + 2,
        element_id,
        gettext("Copy"),
    )


def copy_block(element_id: str, text: str) -> SafeString:
    """A read-only block of several lines (a YAML receiver, a script) with a Copy button."""
    rows = min(max(text.count("\n") + 1, 2), 24)
    return format_html(
        '<span class="copy-field copy-block"><textarea id="{}" readonly rows="{}" cols="80" '
        'aria-label="snippet">{}</textarea><button type="button" class="button" '
        'data-copy-target="{}">{}</button></span>',
        element_id,
        rows,
        text,
        element_id,
        gettext("Copy"),
    )


def severity_badge(severity: str, label: str) -> SafeString:
    return format_html('<span class="severity-{}">{}</span>', severity, label)


def counted_by_state(total_words: str, counts: Mapping[Any, int]) -> str:
    """``3 chats (2 active, 1 gone)``: ``total_words`` is the total in words, with its plural
    (``ngettext``), and ``counts`` maps each state (a choice, named by its label) to a count;
    "none yet" when they are all 0."""
    parts = [f"{n} {getattr(state, 'label', state)}" for state, n in counts.items() if n]
    if not parts:
        return gettext("none yet")
    return f"{total_words} ({gettext(', ').join(parts)})"
