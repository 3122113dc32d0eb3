"""The card's body: the notification template's Feishu medium, and fitting it into a card.

The body is what the incident's notification template renders for ``feishu_card`` (the
channel's or rule's template, else :data:`DEFAULT_BODY`); the header, the fields, the notes,
the link and the buttons are the card's own, around it, so no template can remove or break
them. Values are escaped for lark_md by the engine, so an alert cannot mention people, show a
link or add markup; the template's own text may use lark_md (``**bold**``, ``[text](url)``).

Feishu refuses cards over 30 KB: a body that does not fit the room the rest of the card
leaves is cut visibly (long lines first, then whole lines, saying how many are hidden), never
refused.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Collection, Sequence

from django.utils.translation import gettext_lazy, ngettext

from oncall.notify.engine import Medium

ELLIPSIS = "…"
# "\n" inside a JSON string costs two bytes.
_NEWLINE_COST = 2

# Characters lark_md gives a meaning to: mentions and font tags (<), links ([...](...)),
# emphasis (* _ ~), code (`), escapes (\\) and entities (&). Feishu documents HTML numeric
# entities as the way to show them literally ("特殊字符转义说明" in the card Markdown docs:
# https://open.feishu.cn/document/feishu-cards/card-components/content-components/rich-text).
_LARK_MD_SPECIALS = "&<>*_~`[]\\"
_LARK_MD_ESCAPES = str.maketrans({char: f"&#{ord(char)};" for char in _LARK_MD_SPECIALS})


def escape_lark_md(text: str) -> str:
    """``text`` shown literally inside lark_md: no mention, link, emphasis or tag survives."""
    return text.translate(_LARK_MD_ESCAPES)


# The knowledge base's default Feishu body (its 1.3.4 template): the first alert's body_text
# label (else its description), the resource label joined over every alert, then every other
# label but body_text_with_table (the same text laid out as a table, for media that show
# one), one per line, then the alert's images.
DEFAULT_BODY = """\
{% if Labels.body_text %}
{{ clip(Labels.body_text, 2000) }}
{% elif Description %}
{{ clip(Description, 2000) }}
{% endif %}
{% if Labels.resource %}
**resource**: {{ oneLine(clip(joinAlertLabels(root, "resource", ", "), 500)) }}
{% endif %}
{% for key, value in Labels|dictsort(true)
   if key not in ["resource", "body_text", "body_text_with_table"] %}
**{{ oneLine(clip(key, 100)) }}**: {{ oneLine(clip(value, 500)) }}
{% endfor %}
{% for v in Images %}
{% set key = transferImage(root, v.Src) %}
{% if key %}
![{{ oneLine(clip(v.Alt, 100)) }}]({{ key }})
{% endif %}
{% endfor %}
"""

FEISHU_CARD = Medium(
    name="feishu_card",
    label=gettext_lazy("Feishu card body"),
    escape=escape_lark_md,
    # A bound on the work, not the card: fitting to the room the card leaves (``fit``) cuts
    # the rest visibly and says how many lines it hid.
    max_chars=256_000,
    default=DEFAULT_BODY,
    syntax=gettext_lazy(
        "lark_md: **bold**, *italic*, ~~strike~~, [text](https://...), line breaks; an image: "
        "![alt](key) with the key transferImage(root, src) returned"
    ),
)

# ``![alt](img_...)``: an image the template placed. Values are escaped (``[`` is ``&#91;``),
# so only the template's own text can write one, and only with a key this card's uploads
# returned (``keys``) is it shown as an image.
_IMAGE = re.compile(r"!\[([^\]\n]{0,300})\]\((img_[A-Za-z0-9_-]{1,190})\)")
_ANY_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
# Stands for an image on its own line while the text is fitted (a private-use character,
# removed from the text first, so no value can pose as one).
_MARK = "\ue000"
# What an ``img`` element adds to the card, beside its key and alt text.
IMAGE_ELEMENT_COST = 80


def split_images(text: str, keys: Collection[str]) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with each image the card may show on a line of its own as a mark
    (``\\ue000<n>``), and the images ``[(key, alt), ...]`` by ``n``. Any other
    ``![...](...)`` is shown as text."""
    images: list[tuple[str, str]] = []

    def mark(match: re.Match[str]) -> str:
        key = match.group(2)
        if key not in keys:
            return escape_lark_md(match.group(0))
        images.append((key, html.unescape(match.group(1)).strip()))
        return f"\n{_MARK}{len(images) - 1}\n"

    def replace(match: re.Match[str]) -> str:
        found = _IMAGE.fullmatch(match.group(0))
        return mark(found) if found else escape_lark_md(match.group(0))

    text = _ANY_IMAGE.sub(replace, text.replace(_MARK, ""))
    return text, images


def pieces(fitted: str) -> list[str | int]:
    """The fitted text as runs of text and images (by their number), in order."""
    out: list[str | int] = []
    run: list[str] = []
    for line in fitted.split("\n"):
        number = line[len(_MARK) :] if line.startswith(_MARK) else ""
        if number.isdigit():
            if run:
                out.append("\n".join(run))
                run = []
            out.append(int(number))
        elif line:
            run.append(line)
    if run:
        out.append("\n".join(run))
    return out


def fit(body: str, room: int) -> str:
    """``body`` within ``room`` bytes of card JSON: as it is if it fits; else every line cut
    to a quarter of the room; else the lines that fit, in order, and "…N more lines"."""
    lines = [line for line in body.split("\n") if line]
    if cost(lines) <= room:
        return "\n".join(lines)
    lines = [_within(line, room // 4) for line in lines]
    if cost(lines) <= room:
        return "\n".join(lines)
    reserve = cost([_more(len(lines))]) + _NEWLINE_COST
    shown: list[str] = []
    used = 0
    for line in lines:
        extra = cost([line]) + (_NEWLINE_COST if shown else 0)
        if used + extra > room - reserve:
            break
        shown.append(line)
        used += extra
    hidden = len(lines) - len(shown)
    return "\n".join([*shown, _more(hidden)] if hidden else shown)


def cost(parts: Sequence[str]) -> int:
    """Bytes the parts add to the card, joined by newlines, inside one JSON string."""
    present = [part for part in parts if part]
    if not present:
        return 0
    text = sum(len(json.dumps(part)) - 2 for part in present)
    return text + _NEWLINE_COST * (len(present) - 1)


def _within(line: str, limit: int) -> str:
    """``line`` cut (with an ellipsis) to cost at most ``limit`` bytes, never inside an
    escape (``&#60;``), which would show as text. Binary search on the length: the cost of a
    prefix grows with it, and escapes make it uneven."""
    if cost([line]) <= limit:
        return line
    room = limit - cost([ELLIPSIS])
    low, high = 0, len(line)  # the longest prefix that fits is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if cost([line[:middle]]) <= room:
            low = middle
        else:
            high = middle
    cut = line[:low]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS if cut else ""


def _more(count: int) -> str:
    return ELLIPSIS + ngettext("%(n)d more line", "%(n)d more lines", count) % {"n": count}
