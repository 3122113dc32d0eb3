"""Messages for a DingTalk custom robot, read as alerts.

What a tool posts to ``https://oapi.dingtalk.com/robot/send?access_token=<token>``
(https://open.dingtalk.com/document/orgapp/custom-bot-send-message-type), one message per
request, its type in ``msgtype``:

* ``text``: ``text.content``. The title is its first line, the description the whole text.
* ``markdown``: ``markdown.title`` (what the chat list shows) and ``markdown.text``.
* ``link``: ``link.title``, ``link.text``, ``link.messageUrl`` (the alert's link) and
  ``link.picUrl`` (its image).
* ``actionCard``: ``actionCard.title`` and ``actionCard.text`` (Markdown), with one button
  (``singleTitle``, ``singleURL``) or several (``btns``: ``title``, ``actionURL``): the links.
* ``feedCard``: ``feedCard.links``, each ``title``, ``messageURL``, ``picURL``: the first title
  is the title, every title a line of the description.

``at`` (``atMobiles``, ``atUserIds``, ``isAtAll``) is left out: it names people's phones. Links
DingTalk opens in its own client (``dingtalk://dingtalkclient/page/link?url=...``) are read as
the web URL they wrap. ``timestamp`` and ``sign`` (in the query string) are checked by the
source (``source.py``), not here. Severity, recovery and identity come from the words
(:mod:`integrations.sources.message_rules`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.sources.common import (
    at,
    get_list,
    get_str,
    is_web_url,
    optional_link,
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
from oncall.events import AlertEvent, Image, Link, PayloadError

DEFAULT_TITLE = "DingTalk alert"
MESSAGE_TYPES = ("text", "markdown", "link", "actionCard", "feedCard")


def parse(payload: Any, rules: MessageRules | None = None) -> list[AlertEvent]:
    """The one alert event of a DingTalk robot message (see the module docstring)."""
    body = require_object(payload, None)
    msgtype = get_str(body, "msgtype", field="msgtype", required=True).strip()
    readers = {
        "text": _text,
        "markdown": _markdown,
        "link": _link,
        "actionCard": _action_card,
        "feedCard": _feed_card,
    }
    if msgtype not in readers:
        raise PayloadError(
            f"msgtype must be one of {', '.join(MESSAGE_TYPES)}, not {truncate(msgtype, 40)!r}",
            field="msgtype",
        )
    content = body.get(msgtype)
    if content is None:
        raise PayloadError(f"{msgtype} is required for a {msgtype} message", field=msgtype)
    message = readers[msgtype](require_object(content, msgtype))
    return [(rules or MessageRules()).event(message)]


def recognises(payload: Any) -> bool:
    """A DingTalk robot message: an object whose ``msgtype`` names a type and its content."""
    if not isinstance(payload, dict):
        return False
    msgtype = payload.get("msgtype")
    return msgtype in MESSAGE_TYPES and isinstance(payload.get(msgtype), dict)


def _message(
    msgtype: str,
    title: str,
    text: str,
    links: tuple[Link, ...] = (),
    images: tuple[Image, ...] = (),
) -> Message:
    """Every type but ``text`` writes Markdown: its links and images are the alert's too."""
    if msgtype == "text":
        links, images = (*links, *bare_urls(text)), images
    else:
        links, images = (*links, *markdown_links(text)), (*images, *markdown_images(text))
    return Message(
        title=title,
        body=text,
        default_title=DEFAULT_TITLE,
        labels={"msg_type": msgtype},
        links=links,
        images=images,
    )


def _text(content: dict[str, Any]) -> Message:
    text = get_str(content, "content", field="text.content", required=True)
    return _message("text", "", text)


def _markdown(content: dict[str, Any]) -> Message:
    title = get_str(content, "title", field="markdown.title")
    text = get_str(content, "text", field="markdown.text", required=True)
    return _message("markdown", title, text)


def _link(content: dict[str, Any]) -> Message:
    title = get_str(content, "title", field="link.title", required=True)
    text = get_str(content, "text", field="link.text")
    url = web_url(get_str(content, "messageUrl", field="link.messageUrl"))
    picture = web_url(get_str(content, "picUrl", field="link.picUrl"))
    images = (Image(src=picture, alt=title, href=url),) if picture else ()
    return _message("link", title, text, optional_link(url, title), images=images)


def _action_card(content: dict[str, Any]) -> Message:
    title = get_str(content, "title", field="actionCard.title")
    text = get_str(content, "text", field="actionCard.text", required=True)
    links = list(_button(content, "singleTitle", "singleURL", where="actionCard"))
    for index, button in enumerate(get_list(content, "btns", field="actionCard.btns")):
        where = at("actionCard.btns", index)
        links.extend(_button(require_object(button, where), "title", "actionURL", where=where))
    return _message("actionCard", title, text, tuple(links))


def _button(
    button: dict[str, Any], title_key: str, url_key: str, *, where: str
) -> tuple[Link, ...]:
    title = get_str(button, title_key, field=at(where, title_key))
    url = web_url(get_str(button, url_key, field=at(where, url_key)))
    return optional_link(url, title)


def _feed_card(content: dict[str, Any]) -> Message:
    entries = get_list(content, "links", field="feedCard.links")
    if not entries:
        raise PayloadError("feedCard.links must hold at least one link", field="feedCard.links")
    titles, links = [], []
    for index, entry in enumerate(entries):
        where = at("feedCard.links", index)
        entry = require_object(entry, where)
        title = get_str(entry, "title", field=at(where, "title"))
        titles.append(title)
        links.extend(optional_link(web_url(entry.get("messageURL")), title))
    return _message("feedCard", titles[0], join_lines(titles), tuple(links))


def web_url(raw: Any) -> str:
    """An http(s) URL as it is; a ``dingtalk://dingtalkclient/page/link?url=...`` link as the
    web URL it wraps; anything else as ``""``."""
    if not isinstance(raw, str):
        return ""
    raw = raw.strip()
    if raw.lower().startswith("dingtalk://"):
        wrapped = parse_qs(urlsplit(raw).query).get("url", [""])[0]
        return wrapped if is_web_url(wrapped) else ""
    return raw if is_web_url(raw) else ""
