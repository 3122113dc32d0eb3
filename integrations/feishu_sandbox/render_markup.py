"""Text as the Feishu client draws it, escaped: card text objects (``plain_text``, ``lark_md``),
text messages with ``<at>`` mentions, and rich-text ("post") messages.

Every string comes from the console and is untrusted: tokens (mentions, links, font colours)
are found on the raw text, everything else is escaped before emphasis is applied, and links
keep only http(s) URLs that cannot leave their attribute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# The order in which the language versions of a text or card are tried (the client is English).
LANGUAGES = ("en_us", "zh_cn", "ja_jp")
FONT_COLOURS = frozenset({"red", "green", "grey", "gray", "blue", "orange", "yellow", "purple"})

_MENTION = (
    r"<at\s+(?:id|open_id|user_id|union_id|email)\s*=\s*[\"']?([^\"'>\s]*)[\"']?\s*>"
    r"(.*?)</at>"
)
_LINK = r"\[([^\]\n]*)\]\(([^)\s]+)\)"
_FONT = r"<font\s+color\s*=\s*[\"']?(\w+)[\"']?\s*>(.*?)</font>"
_TOKENS = re.compile(f"{_MENTION}|{_LINK}|{_FONT}", re.DOTALL | re.IGNORECASE)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\*)(.+?)(?<!\*)\*(?![*\w])")
_STRIKE = re.compile(r"~~(.+?)~~")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)

Names = Mapping[str, str]


# --- Card text objects ------------------------------------------------------------------------


def text_object(value: object, names: Names) -> str:
    """A ``{"tag": "plain_text" | "lark_md", "content": ...}`` object as HTML."""
    if isinstance(value, str):
        return plain_html(value)
    if not isinstance(value, dict):
        return ""
    content = localised(value)
    if value.get("tag") == "lark_md":
        return lark_md(content, names)
    return plain_html(content)


def localised(value: dict) -> str:
    """``content``, or the first language of ``i18n`` the client reads."""
    content = value.get("content")
    if isinstance(content, str) and content:
        return content
    i18n = value.get("i18n")
    if isinstance(i18n, dict):
        for language in LANGUAGES:
            if isinstance(i18n.get(language), str):
                return i18n[language]
    return content if isinstance(content, str) else ""


def plain(value: object) -> str:
    """The text of a text object, unformatted (for attributes and options)."""
    if isinstance(value, str):
        return value
    return localised(value) if isinstance(value, dict) else ""


def plain_html(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def lark_md(text: str, names: Names) -> str:
    return _tokens_to_html(text, names, markdown=True)


def _tokens_to_html(text: str, names: Names, *, markdown: bool) -> str:
    """Escape ``text``, turning ``<at>`` mentions (and, in lark_md, links, colours and
    emphasis) into markup."""
    out: list[str] = []
    position = 0
    for match in _TOKENS.finditer(text):
        out.append(_inline(text[position : match.start()], markdown))
        out.append(_token(match, names, markdown))
        position = match.end()
    out.append(_inline(text[position:], markdown))
    return "".join(out)


def _token(match: re.Match, names: Names, markdown: bool) -> str:
    mention_id, mention_text, link_text, link_url, colour, coloured = match.groups()
    if mention_id is not None:
        return mention(mention_id, mention_text, names)
    if not markdown:
        return _inline(match.group(0), markdown)
    if link_url is not None:
        label = _inline(link_text, markdown) or escape(link_url)
        return anchor(link_url, label) if safe_url(link_url) else label
    colour_class = colour.lower() if colour.lower() in FONT_COLOURS else "default"
    return f'<span class="card-font-{colour_class}">{_inline(coloured, markdown)}</span>'


def mention(mention_id: str, text: str, names: Names) -> str:
    """``@name``: from the directory when the id is known, else the tag's text or the id."""
    if mention_id == "all":
        name = "all"
    else:
        name = names.get(mention_id) or re.sub(r"<[^>]*>", "", text) or mention_id
    return f'<span class="mention">@{escape(name)}</span>'


_NUMERIC_ENTITY = re.compile(r"&amp;#(\d{1,7}|x[0-9a-fA-F]{1,6});")


def _inline(text: str, markdown: bool) -> str:
    html = escape(text)
    if markdown:
        # Safe on escaped text: the patterns add tags around text that holds no markup.
        html = _BOLD.sub(r"<strong>\1</strong>", html)
        html = _STRIKE.sub(r"<del>\1</del>", html)
        html = _ITALIC.sub(r"<em>\1</em>", html)
        # lark_md shows a character literally when written as a numeric entity (&#95; for
        # "_"): after the markup above, hand such entities back to the browser as entities.
        # They stay text: "&#60;" is drawn as "<", never parsed as a tag.
        html = _NUMERIC_ENTITY.sub(r"&#\1;", html)
    return html.replace("\n", "<br>")


def anchor(url: str, label_html: str, css: str = "") -> str:
    """A link that opens outside the client (``url`` must have passed ``safe_url``)."""
    css_attr = f' class="{css}"' if css else ""
    return (
        f'<a{css_attr} href="{escape(url)}" target="_blank" rel="noopener noreferrer">'
        f"{label_html}</a>"
    )


def safe_url(url: object) -> bool:
    return isinstance(url, str) and _SAFE_URL.match(url) is not None


def image_placeholder(element: dict, *, small: bool) -> str:
    # Images live on Feishu's servers (img_key): the sandbox never fetches anything; it shows
    # what a screen reader would say.
    alt = plain(element.get("alt")) or plain(element.get("title")) or "image"
    size = "card-img-small" if small else "card-img"
    return f'<span class="{size}" role="img" aria-label="{escape(alt)}">🖼 {escape(alt)}</span>'


def cannot_be_shown(content: object, *, what: str = "card") -> SafeString:
    """A message the client cannot draw, with its raw content for the developer."""
    raw = content if isinstance(content, str) else _dumps(content)
    return mark_safe(  # noqa: S308 -- the raw text is escaped
        f'<div class="card card-broken"><p class="card-broken-title">This {what} cannot be '
        f'shown.</p><pre class="card-raw">{escape(raw)}</pre></div>'
    )


def _dumps(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, indent=2)
    except (TypeError, ValueError):
        return repr(value)


def json_object_or_none(content: str) -> dict | None:
    """``content`` parsed, when it is a JSON object; None for anything else."""
    try:
        value = json.loads(content)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# --- Text and rich-text messages ----------------------------------------------------------------


def render_text(content: str, *, names: Names | None = None) -> SafeString:
    """A text message, ``{"text": "..."}``, with its ``<at user_id="...">`` mentions."""
    parsed = json_object_or_none(content)
    text = parsed.get("text") if parsed else None
    if not isinstance(text, str):
        return cannot_be_shown(content, what="message")
    html = _tokens_to_html(text, names or {}, markdown=False)
    return mark_safe(f'<div class="msg-text">{html}</div>')  # noqa: S308


def render_post(content: str, *, names: Names | None = None) -> SafeString:
    """A rich-text ("post") message: a title and paragraphs of text, links and mentions."""
    post = _post_body(json_object_or_none(content))
    if post is None:
        return cannot_be_shown(content, what="message")
    title = post.get("title")
    parts = (
        [f'<div class="msg-post-title">{escape(title)}</div>']
        if isinstance(title, str) and title
        else []
    )
    for paragraph in list_or_empty(post.get("content")):
        pieces = "".join(_post_piece(piece, names or {}) for piece in list_or_empty(paragraph))
        parts.append(f"<p>{pieces}</p>")
    return mark_safe('<div class="msg-post">' + "".join(parts) + "</div>")  # noqa: S308


def _post_body(content: dict | None) -> dict | None:
    """The language version to show: ``{"zh_cn": {...}}``, ``{"post": {"zh_cn": ...}}`` or the
    bare ``{"title", "content"}`` all occur."""
    if content is None:
        return None
    if "content" in content:
        return content
    inner = content.get("post") if isinstance(content.get("post"), dict) else content
    for language in (*LANGUAGES, *inner.keys()):
        version = inner.get(language)
        if isinstance(version, dict):
            return version
    return None


def _post_piece(piece: object, names: Names) -> str:
    if not isinstance(piece, dict):
        return ""
    tag = piece.get("tag")
    text = piece.get("text") if isinstance(piece.get("text"), str) else ""
    if tag == "a":
        href = piece.get("href")
        return anchor(href, escape(text or href)) if safe_url(href) else escape(text)
    if tag == "at":
        return mention(str(piece.get("user_id", "")), str(piece.get("user_name", "")), names)
    if tag == "img":
        return image_placeholder({"alt": "image"}, small=True)
    if tag == "md":
        return lark_md(text, names)
    return plain_html(text)


def list_or_empty(value: object) -> list:
    """A list the card or message holds, or none (a missing or mistyped one draws nothing)."""
    return value if isinstance(value, list) else []
