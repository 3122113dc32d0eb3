"""Messages as a person sees them in the Feishu client, in HTML that is safe to put on a page.

Cards are drawn here; their text, and text and rich-text messages, in ``render_markup``.
Cards are JSON 1.0 (``elements``, ``i18n_elements``) as FEISHU.md shows them, plus what JSON 2.0
(``body.elements``) shares with it. Every string a card carries is untrusted: it is escaped, and
links keep only http(s) URLs. An element the sandbox does not draw becomes a small "unsupported
element" note; a card whose structure is broken becomes "This card cannot be shown" with its raw
JSON, so that a developer sees what the console sent instead of a crash.

Interactive elements (``button``, ``select_static``, ``overflow``) post to the sandbox's click
view with the element's JSON pointer inside the card (``elements/3/actions/0``): the view reads
``value`` from the card as stored, the way Feishu takes it from the card it holds, and never from
the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from integrations.feishu_sandbox.render_markup import (  # render_text/post: public here too
    LANGUAGES,
    anchor,
    cannot_be_shown,
    image_placeholder,
    json_object_or_none,
    lark_md,
    list_or_empty,
    plain,
    render_post,
    render_text,
    safe_url,
    text_object,
)

# Feishu's header colours (``header.template``); anything else is drawn like "default".
TEMPLATES = frozenset(
    {
        "blue",
        "wathet",
        "turquoise",
        "green",
        "yellow",
        "orange",
        "red",
        "carmine",
        "violet",
        "purple",
        "indigo",
        "grey",
        "default",
    }
)
BUTTON_TYPES = frozenset(
    {"default", "primary", "danger", "text", "laser", "primary_filled", "danger_filled"}
)
INTERACTIVE_TAGS = frozenset({"button", "select_static", "overflow"})
# The keys of images uploaded to the sandbox (``models.new_image_key``).
SANDBOX_IMAGE_KEY = re.compile(r"^img_sandbox_[0-9a-f]{32}$")


class MalformedCard(ValueError):
    """The card's structure is not one Feishu could draw."""


@dataclass(frozen=True)
class ClickForm:
    """Where interactive elements post, with the CSRF token and any extra hidden fields."""

    url: str
    csrf_token: str
    hidden: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Context:
    click: ClickForm | None
    # open_id / user_id / union_id / email -> name, for <at> mentions.
    names: Mapping[str, str]


# --- Public entry points -----------------------------------------------------------------------


def render_message(
    msg_type: str,
    content: str,
    *,
    click: ClickForm | None = None,
    names: Mapping[str, str] | None = None,
) -> SafeString:
    """One stored message (its ``msg_type`` and the ``content`` JSON string the API received)."""
    if msg_type == "interactive":
        return render_card(content, click=click, names=names)
    if msg_type == "post":
        return render_post(content, names=names)
    return render_text(content, names=names)


def render_card(
    content: str | Mapping[str, Any],
    *,
    click: ClickForm | None = None,
    names: Mapping[str, str] | None = None,
) -> SafeString:
    """A card as HTML; buttons and menus post to ``click`` (drawn inert without one)."""
    context = _Context(click, names or {})
    try:
        card = _card_object(content)
        html = _card(card, context)
    except (MalformedCard, TypeError, ValueError, AttributeError, KeyError, RecursionError):
        return cannot_be_shown(content)
    return mark_safe(html)  # noqa: S308 -- built from escaped pieces only


def find_element(card: Mapping[str, Any], pointer: str) -> dict | None:
    """The interactive element at ``pointer`` (``elements/2/actions/0``), or None when the
    pointer leads nowhere or to something that cannot be clicked."""
    node: Any = card
    for step in pointer.split("/") if pointer else []:
        if isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return None
    if isinstance(node, dict) and node.get("tag") in INTERACTIVE_TAGS:
        return node
    return None


def looks_like_card(value: object) -> bool:
    """Whether a JSON value is shaped like a card: the Open API's first check of a card, and how
    an old-format callback answer (the card itself) is told from one that carries no card."""
    if not isinstance(value, dict):
        return False
    return any(key in value for key in ("elements", "i18n_elements", "header", "body"))


# --- The card -----------------------------------------------------------------------------------


def _card_object(content: str | Mapping[str, Any]) -> dict:
    if isinstance(content, Mapping):
        return dict(content)
    card = json_object_or_none(content)
    if card is None:
        raise MalformedCard("the card is not a JSON object")
    return card


def _card(card: dict, context: _Context) -> str:
    if card.get("type") == "template":
        return _template_card(card)
    elements, base = _elements_of(card)
    body = "".join(
        _element(element, f"{base}/{index}", context) for index, element in enumerate(elements)
    )
    return (
        '<article class="card">'
        + _header(card.get("header"))
        + f'<div class="card-body">{body}</div></article>'
    )


def _elements_of(card: dict) -> tuple[list, str]:
    """The element list to draw and its JSON pointer (JSON 2.0 keeps them under ``body``)."""
    if card.get("schema") == "2.0" or "body" in card:
        body = card.get("body")
        if not isinstance(body, dict):
            raise MalformedCard("a JSON 2.0 card needs a body object")
        return _element_list(body.get("elements", [])), "body/elements"
    if "elements" in card:
        return _element_list(card["elements"]), "elements"
    i18n = card.get("i18n_elements")
    if isinstance(i18n, dict) and i18n:
        language = next((lang for lang in LANGUAGES if lang in i18n), next(iter(i18n)))
        return _element_list(i18n[language]), f"i18n_elements/{language}"
    if "header" in card:
        return [], "elements"  # a card may be only a header
    raise MalformedCard("the card has no elements")


def _element_list(value: object) -> list:
    if not isinstance(value, list):
        raise MalformedCard("elements must be a list")
    return value


def _template_card(card: dict) -> str:
    data = card.get("data")
    template_id = data.get("template_id", "") if isinstance(data, dict) else ""
    return (
        '<article class="card"><div class="card-body">'
        + _unsupported(
            f"a card built from template {template_id!s}: the sandbox draws only card JSON"
        )
        + "</div></article>"
    )


def _header(header: object) -> str:
    if not isinstance(header, dict):
        return ""
    template = header.get("template")
    colour = template if template in TEMPLATES else "default"
    title = text_object(header.get("title"), {})
    subtitle = text_object(header.get("subtitle"), {})
    sub = f'<div class="card-subtitle">{subtitle}</div>' if subtitle else ""
    return (
        f'<header class="card-header card-template-{colour}">'
        f'<div class="card-title">{title}</div>{sub}</header>'
    )


# --- Elements -------------------------------------------------------------------------------


def _element(element: object, pointer: str, context: _Context) -> str:
    if not isinstance(element, dict):
        raise MalformedCard("an element must be an object")
    renderer = ELEMENTS.get(str(element.get("tag")))
    if renderer is None:
        return _unsupported(str(element.get("tag") or "an element without a tag"))
    return renderer(element, pointer, context)


def _unsupported(what: str) -> str:
    return f'<div class="card-unsupported">Unsupported element: {escape(what)}</div>'


def _div(element: dict, pointer: str, context: _Context) -> str:
    parts = []
    text = text_object(element.get("text"), context.names)
    if text:
        parts.append(f'<div class="card-text">{text}</div>')
    fields = list_or_empty(element.get("fields"))
    if fields:
        parts.append(_fields(fields, context))
    extra = element.get("extra")
    inner = "".join(parts)
    if isinstance(extra, dict):
        side = _element(extra, f"{pointer}/extra", context)
        return f'<div class="card-div card-div-extra"><div>{inner}</div>{side}</div>'
    return f'<div class="card-div">{inner}</div>'


def _fields(fields: list, context: _Context) -> str:
    cells = []
    for item in fields:
        if not isinstance(item, dict):
            raise MalformedCard("a field must be an object")
        width = "card-field-short" if item.get("is_short") else "card-field-long"
        cells.append(
            f'<div class="card-field {width}">{text_object(item.get("text"), context.names)}</div>'
        )
    return '<div class="card-fields">' + "".join(cells) + "</div>"


def _hr(element: dict, pointer: str, context: _Context) -> str:
    return '<hr class="card-hr">'


def _note(element: dict, pointer: str, context: _Context) -> str:
    pieces = []
    for item in list_or_empty(element.get("elements")):
        if not isinstance(item, dict):
            raise MalformedCard("a note element must be an object")
        if item.get("tag") == "img":
            pieces.append(image_placeholder(item, small=True))
        else:
            pieces.append(f"<span>{text_object(item, context.names)}</span>")
    return '<div class="card-note">' + " ".join(pieces) + "</div>"


def _markdown(element: dict, pointer: str, context: _Context) -> str:
    content = element.get("content")
    align = element.get("text_align")
    align_class = f" card-align-{align}" if align in ("left", "center", "right") else ""
    html = lark_md(content, context.names) if isinstance(content, str) else ""
    return f'<div class="card-markdown{align_class}">{html}</div>'


def _img(element: dict, pointer: str, context: _Context) -> str:
    key = element.get("img_key")
    if isinstance(key, str) and SANDBOX_IMAGE_KEY.match(key):
        # An image uploaded to this sandbox: shown as Feishu would (others: the placeholder).
        alt = plain(element.get("alt"))
        src = reverse("feishu_sandbox:image", args=[key])
        return f'<img class="card-img-upload" src="{escape(src)}" alt="{escape(alt)}">'
    return image_placeholder(element, small=False)


def _column_set(element: dict, pointer: str, context: _Context) -> str:
    columns = []
    for index, column in enumerate(list_or_empty(element.get("columns"))):
        if not isinstance(column, dict):
            raise MalformedCard("a column must be an object")
        inner = "".join(
            _element(child, f"{pointer}/columns/{index}/elements/{position}", context)
            for position, child in enumerate(list_or_empty(column.get("elements")))
        )
        columns.append(f'<div class="card-column">{inner}</div>')
    return '<div class="card-columns">' + "".join(columns) + "</div>"


def _action(element: dict, pointer: str, context: _Context) -> str:
    layout = element.get("layout")
    layout_class = layout if layout in ("bisected", "trisection", "flow") else "flow"
    actions = "".join(
        _element(child, f"{pointer}/actions/{index}", context)
        for index, child in enumerate(list_or_empty(element.get("actions")))
    )
    return f'<div class="card-actions card-actions-{layout_class}">{actions}</div>'


def _button(element: dict, pointer: str, context: _Context) -> str:
    label = text_object(element.get("text"), context.names) or "Button"
    kind = element.get("type") if element.get("type") in BUTTON_TYPES else "default"
    css = f"card-button card-button-{kind}"
    url = _button_url(element)
    if url is not None:
        if not url:
            return f'<span class="{css} card-disabled">{label}</span>'
        return anchor(url, label, css)
    if element.get("disabled") is True or context.click is None:
        return f'<button type="button" class="{css}" disabled>{label}</button>'
    confirm = _confirm_text(element.get("confirm"))
    confirm_attr = f' data-confirm="{escape(confirm)}"' if confirm else ""
    return _click_form(
        context.click,
        pointer,
        f'<button type="submit" class="{css}"{confirm_attr}>{label}</button>',
    )


def _button_url(element: dict) -> str | None:
    """None for a callback button; the safe URL (or "" when unsafe) of a link button."""
    url = element.get("url")
    multi = element.get("multi_url")
    if not url and isinstance(multi, dict):
        url = multi.get("pc_url") or multi.get("url")
    if not url:
        return None
    return url if safe_url(url) else ""


def _confirm_text(confirm: object) -> str:
    if not isinstance(confirm, dict):
        return ""
    parts = (plain(confirm.get("title")), plain(confirm.get("text")))
    return "\n".join(part for part in parts if part)


def _select_static(element: dict, pointer: str, context: _Context) -> str:
    placeholder = plain(element.get("placeholder")) or "Choose"
    initial = element.get("initial_option")
    chosen = "" if initial else " selected"
    options = [f'<option value="" disabled{chosen}>{escape(placeholder)}</option>']
    for option in _options(element):
        value = str(option.get("value", ""))
        selected = " selected" if initial is not None and value == str(initial) else ""
        text = plain(option.get("text")) or value
        options.append(f'<option value="{escape(value)}"{selected}>{escape(text)}</option>')
    disabled = " disabled" if context.click is None else ""
    select = (
        f'<select name="option" class="card-select" data-autosubmit{disabled}>'
        + "".join(options)
        + "</select>"
    )
    if context.click is None:
        return f'<span class="card-select-wrap">{select}</span>'
    go = '<button type="submit" class="card-select-go">OK</button>'
    return _click_form(context.click, pointer, select + go)


def _overflow(element: dict, pointer: str, context: _Context) -> str:
    items = []
    for option in _options(element):
        text = escape(plain(option.get("text")) or str(option.get("value", "")))
        url = option.get("url") or (option.get("multi_url") or {}).get("url")
        if url and safe_url(url):
            items.append(anchor(url, text))
        elif context.click is None:
            items.append(f"<span>{text}</span>")
        else:
            value = escape(str(option.get("value", "")))
            items.append(f'<button type="submit" name="option" value="{value}">{text}</button>')
    menu = '<div class="card-overflow-menu">' + "".join(items) + "</div>"
    if context.click is not None:
        menu = _click_form(context.click, pointer, menu)
    return (
        '<details class="card-overflow"><summary aria-label="More">⋯</summary>'
        + menu
        + "</details>"
    )


def _options(element: dict) -> Iterable[dict]:
    for option in list_or_empty(element.get("options")):
        if not isinstance(option, dict):
            raise MalformedCard("an option must be an object")
        yield option


def _click_form(click: ClickForm, pointer: str, inner: str) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in {"csrfmiddlewaretoken": click.csrf_token, **click.hidden}.items()
    )
    return (
        f'<form method="post" action="{escape(click.url)}" class="card-form">{hidden}'
        f'<input type="hidden" name="element" value="{escape(pointer)}">{inner}</form>'
    )


def _not_drawn(element: dict, pointer: str, context: _Context) -> str:
    return _unsupported(str(element.get("tag")))


ELEMENTS: dict[str, Callable[[dict, str, _Context], str]] = {
    "div": _div,
    "hr": _hr,
    "note": _note,
    "markdown": _markdown,
    "img": _img,
    "column_set": _column_set,
    "action": _action,
    "button": _button,
    "select_static": _select_static,
    "overflow": _overflow,
    # Pickers need a calendar the sandbox does not have: shown, named, not usable.
    "date_picker": _not_drawn,
    "picker_time": _not_drawn,
    "picker_datetime": _not_drawn,
}
