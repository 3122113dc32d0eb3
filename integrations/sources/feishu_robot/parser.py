"""Messages for a Feishu / Lark custom robot, read as alerts.

What a tool posts to ``https://open.feishu.cn/open-apis/bot/v2/hook/<token>``
(https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot), one message per request:

* ``msg_type`` ``text``: ``content.text``. The title is its first line (``<at>`` mentions
  dropped), the description the whole text.
* ``msg_type`` ``post`` (rich text): ``content.post.<language>`` (``zh_cn`` first, then
  ``en_us``, ``ja_jp``, then any) with ``title`` and ``content``, a list of lines, each a list of
  elements: ``text``, ``a`` (a link: ``href``), ``at``, ``img``, ``media``, ``emotion``, ``hr``,
  ``code_block``, ``md``. The title is ``title`` (else the first line).
* ``msg_type`` ``interactive`` (a message card): ``card`` (an object, or that object as a JSON
  string), version 1 (``header``, ``elements``) or 2 (``schema: "2.0"``, ``header``,
  ``body.elements``), or a template card (``type: "template"``). The title is the header's
  (else the first line of the text); the text is every ``div``, ``markdown``, ``note``,
  ``plain_text`` / ``lark_md`` text and field, columns included; buttons' URLs and Markdown
  links are the alert's links; the header's colour (``template``) is the label ``card_color``.

``image`` and ``share_chat`` messages carry no text to alert on and are refused. ``timestamp``
and ``sign`` are checked by the source (``source.py``), not here. Severity, recovery and identity
come from the words (:mod:`integrations.sources.message_rules`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from integrations.sources.common import (
    at,
    get_str,
    json_type,
    optional_link,
    optional_object,
    require_object,
    truncate,
)
from integrations.sources.message_rules import (
    Message,
    MessageRules,
    bare_urls,
    join_lines,
    markdown_images,
    markdown_links,
)
from oncall.events import AlertEvent, Link, PayloadError

DEFAULT_TITLE = "Feishu alert"
MESSAGE_TYPES = ("text", "post", "interactive")
NO_TEXT_TYPES = ("image", "share_chat")
POST_LANGUAGES = ("zh_cn", "en_us", "ja_jp")
# A card nests columns in columns; deeper than this is not a card Feishu would show.
MAX_CARD_DEPTH = 8
_MENTION = re.compile(r"<at\b[^>]*>(.*?)</at>", re.DOTALL)


def parse(payload: Any, rules: MessageRules | None = None) -> list[AlertEvent]:
    """The one alert event of a Feishu robot message (see the module docstring)."""
    body = require_object(payload, None)
    msg_type = get_str(body, "msg_type", field="msg_type", required=True).strip()
    message = _read(msg_type, body)
    return [(rules or MessageRules()).event(message)]


def recognises(payload: Any) -> bool:
    """A Feishu robot message: an object whose ``msg_type`` is one the robot takes."""
    return isinstance(payload, dict) and payload.get("msg_type") in (
        *MESSAGE_TYPES,
        *NO_TEXT_TYPES,
    )


def _read(msg_type: str, body: dict[str, Any]) -> Message:
    if msg_type == "text":
        return _text(body)
    if msg_type == "post":
        return _post(body)
    if msg_type == "interactive":
        return _card(body)
    if msg_type in NO_TEXT_TYPES:
        raise PayloadError(
            f"Messages of msg_type {msg_type!r} carry no text to alert on; send text, post "
            "or interactive messages here",
            field="msg_type",
        )
    raise PayloadError(
        f"msg_type must be one of {', '.join(MESSAGE_TYPES)}, not {truncate(msg_type, 40)!r}",
        field="msg_type",
    )


# --- text -------------------------------------------------------------------------------------


def _text(body: dict[str, Any]) -> Message:
    content = _content(body)
    text = get_str(content, "text", field="content.text", required=True)
    return Message(
        title="",
        body=_without_mentions(text),
        default_title=DEFAULT_TITLE,
        labels={"msg_type": "text"},
        links=bare_urls(text),
    )


def _without_mentions(text: str) -> str:
    # Text messages mention people as <at user_id="ou_...">Name</at>: the name stays.
    return _MENTION.sub(r"@\1", text)


def _content(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("content") is None:
        raise PayloadError("content is required", field="content")
    return require_object(body["content"], "content")


# --- post (rich text) -------------------------------------------------------------------------


def _post(body: dict[str, Any]) -> Message:
    content = _content(body)
    post = optional_object(content, "post", field="content.post")
    language, localized = _post_language(post)
    where = at("content.post", language)
    lines = []
    links: list[Link] = []
    for index, line in enumerate(_list(localized.get("content"), at(where, "content"))):
        line_where = at(at(where, "content"), index)
        words = []
        for element_index, element in enumerate(_list(line, line_where)):
            element = require_object(element, at(line_where, element_index))
            words.append(_post_element(element, links))
        lines.append("".join(words))
    text = join_lines(lines)
    return Message(
        title=get_str(localized, "title", field=at(where, "title")),
        body=text,
        default_title=DEFAULT_TITLE,
        labels={"msg_type": "post"},
        links=(*links, *markdown_links(text)),
        images=markdown_images(text),
    )


def _post_language(post: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for language in (*POST_LANGUAGES, *post):
        if isinstance(post.get(language), dict):
            return language, post[language]
    raise PayloadError(
        "content.post must hold a message per language, e.g. content.post.zh_cn",
        field="content.post",
    )


def _post_element(element: dict[str, Any], links: list[Link]) -> str:
    tag = element.get("tag")
    text = element.get("text")
    text = text if isinstance(text, str) else ""
    if tag == "a":
        links.extend(optional_link(element.get("href"), text))
        return text
    if tag == "at":
        name = element.get("user_name") or element.get("user_id") or ""
        return f"@{name}" if isinstance(name, str) and name else ""
    if tag == "code_block":
        return f"\n{text}\n"
    if tag == "hr":
        return "\n"
    return text  # text, md; img, media and emotion have no text


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{field} must be an array, not {json_type(value)}", field=field)
    return value


# --- interactive (message card) ---------------------------------------------------------------


def _card(body: dict[str, Any]) -> Message:
    card = body.get("card")
    if isinstance(card, str):
        # Some tools send the card as a JSON string, as the messages API takes it.
        try:
            card = json.loads(card)
        except ValueError:
            raise PayloadError("card is a string but not a JSON card", field="card") from None
    if card is None:
        raise PayloadError("card is required for an interactive message", field="card")
    card = require_object(card, "card")
    if card.get("type") == "template":
        return _template_card(card)
    header = optional_object(card, "header", field="card.header")
    links: list[Link] = []
    lines = list(_card_texts(_card_elements(card), links, depth=0))
    text = join_lines(lines)
    labels = {"msg_type": "interactive"}
    colour = header.get("template")
    if isinstance(colour, str) and colour.strip():
        labels["card_color"] = truncate(colour.strip(), 64)
    return Message(
        title=_plain(header.get("title")),
        body=text,
        default_title=DEFAULT_TITLE,
        labels=labels,
        links=(*links, *markdown_links(text)),
        images=markdown_images(text),
    )


def _card_elements(card: dict[str, Any]) -> list[Any]:
    if card.get("schema") == "2.0":
        body = card.get("body")
        return _list(body.get("elements") if isinstance(body, dict) else None, "card.body")
    elements = card.get("elements")
    if elements is None and isinstance(card.get("i18n_elements"), dict):
        # A card written per language: the first language's elements.
        elements = next(iter(card["i18n_elements"].values()), None)
    return _list(elements, "card.elements")


def _card_texts(elements: list[Any], links: list[Link], *, depth: int) -> Iterator[str]:
    """The text lines of a card's elements, in order; buttons' URLs go to ``links``."""
    if depth > MAX_CARD_DEPTH:
        raise PayloadError(
            f"card nests elements more than {MAX_CARD_DEPTH} levels deep", field="card"
        )
    for element in elements:
        if not isinstance(element, dict):
            continue
        yield from _element_texts(element, links, depth=depth)


def _element_texts(element: dict[str, Any], links: list[Link], *, depth: int) -> Iterator[str]:
    tag = element.get("tag")
    if tag == "markdown" or tag in ("plain_text", "lark_md"):
        yield _plain(element)
    if isinstance(element.get("text"), dict):
        yield _plain(element["text"])
    for item in element.get("fields") or ():
        if isinstance(item, dict):
            yield _plain(item.get("text"))
    if tag == "button":
        url = element.get("url") or (element.get("multi_url") or {}).get("url")
        links.extend(optional_link(url, _plain(element.get("text"))))
    if isinstance(element.get("behaviors"), list):
        for behavior in element["behaviors"]:
            if isinstance(behavior, dict) and behavior.get("type") == "open_url":
                label = _plain(element.get("text"))
                links.extend(optional_link(behavior.get("default_url"), label))
    # Containers: a note's, an action's, a column set's and a column's children, and the
    # button or image a div carries on its right (``extra``).
    for key in ("elements", "actions", "columns"):
        children = element.get(key)
        if isinstance(children, list):
            yield from _card_texts(children, links, depth=depth + 1)
    if isinstance(element.get("extra"), dict):
        yield from _card_texts([element["extra"]], links, depth=depth + 1)


def _plain(value: Any) -> str:
    """The text of a card text object (``{"tag": "plain_text" | "lark_md", "content"}``), of a
    ``markdown`` element, or of a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        content = value.get("content")
        if isinstance(content, str):
            return content
    return ""


def _template_card(card: dict[str, Any]) -> Message:
    """A card built from a template in Feishu's card builder: only its variables are sent. A
    variable named like a title is the title; the others make the text."""
    data = optional_object(card, "data", field="card.data")
    variables = optional_object(data, "template_variable", field="card.data.template_variable")
    title = ""
    lines = []
    for name, value in variables.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if not title and name.lower() in ("title", "alert_title", "subject", "标题"):
            title = text
        else:
            lines.append(f"{name}: {text}")
    template_id = data.get("template_id")
    labels = {"msg_type": "interactive"}
    if isinstance(template_id, str) and template_id:
        labels["card_template"] = truncate(template_id, 128)
    text = join_lines(lines)
    return Message(
        title=title,
        body=text,
        default_title=DEFAULT_TITLE,
        labels=labels,
        links=markdown_links(text),
    )
