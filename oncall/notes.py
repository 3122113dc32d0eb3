"""Responders' notes on an incident: how long they may be, how long their author may change
them, and how their text (CommonMark) becomes HTML that is safe to put in a page.

A note is Markdown written by a person, shown to everyone who sees the incident. Rendering is
markdown-it-py's CommonMark with:

* raw HTML off: ``<script>``, ``<img onerror=...>`` or ``<at id=all>`` show as the text typed;
* links only to ``http``, ``https`` and ``mailto`` (checked after markdown-it's normalisation,
  so ``JaVaScRiPt:`` or an entity-encoded scheme do not slip through); any other link, a
  relative one included, stays literal text. Links open in a new tab without a referrer;
* no images: an image would make every reader's browser fetch a URL the author chose (a
  tracking pixel). ``![alt](url)`` reads as a link instead.

The lifecycle service (``oncall.lifecycle.add_note`` ...) is the only writer of notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

# Long enough for a command's output or a short write-up; past it, the incident page and a
# card are the wrong place (link a document instead). Feishu text messages can be longer.
MAX_NOTE_CHARS = 10_000

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"


def edit_window() -> timedelta:
    """How long after writing it an author may edit or delete a note
    (``NOTE_EDIT_WINDOW_MINUTES``)."""
    return timedelta(minutes=settings.NOTE_EDIT_WINDOW_MINUTES)


def editable_until(created_at: datetime) -> datetime:
    return created_at + edit_window()


def render_markdown(text: str) -> SafeString:
    """``text`` as HTML: safe to insert into a page as it is (see the module's docstring)."""
    return mark_safe(_markdown().render(text))  # noqa: S308 - raw HTML is off: everything is escaped


def allowed_link(url: str) -> bool:
    """Whether a link may be made of ``url`` (already normalised by markdown-it)."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # e.g. an invalid IPv6 host
        return False
    return scheme in LINK_SCHEMES


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = allowed_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


def _link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> Any:
    tokens[idx].attrSet("rel", LINK_REL)
    tokens[idx].attrSet("target", "_blank")
    return renderer.renderToken(tokens, idx, options, env)
