"""Finding English left in a page meant to be read in Chinese.

``english_words(html_or_text, allow)`` returns the English words a reader would see: the text of
an HTML page (tags, scripts, styles and data boxes stripped) cut into whitespace-separated
chunks, from which codes, URLs and numbers are left out and ASCII words are taken. Shared by the
admin / responder-page walk and the card tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

# Elements whose content is not prose: code, raw payloads and the text people type.
_SKIPPED = {"script", "style", "textarea", "pre", "code", "template", "noscript"}
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")  # noqa: RUF001
# A chunk with one of these inside (after trimming punctuation) is a code, a path, an address,
# an identifier or a quantity with its unit ("cli_a1b2", "labels.env", "30s", "a@b.c").
_CODE_MARKS = re.compile(r'[0-9_/\\.@=:#<>{}\[\]()$%&+*|~^"`]')
# Template code inside a sentence ("{{ Labels.service }}", "{% if %}"): names, not words.
# and calls with arguments written as code ("transferImage(root, src)").
_TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|[A-Za-z_]\w*\([^()]*,[^()]*\)", re.S)
# JSON's punctuation anywhere in a chunk, even where trimming would take it ("null},").
_JSON_MARKS = re.compile(r'[{}\[\]"]')
# A capital inside a word marks an identifier or a brand written as one ("alertLabels",
# "PersonIDs", "HighLatency", "PagerDuty"): a name, not a word to translate.
_INNER_CAPITAL = re.compile(r"^.+[A-Z]")
_TRIM = "'()[]{},.;:!?…“”‘’「」『』（）【】《》，。、；：！？·-—–"  # noqa: RUF001

# Words a Chinese reader sees in Chinese text anyway. Kept short on purpose; each has a reason.
COMMON_ALLOW = frozenset(
    {
        # Product and platform names, written in Latin letters in Chinese text too.
        "Feishu",
        "Lark",
        "DingTalk",
        "Prometheus",
        "Alertmanager",
        "Grafana",
        "Django",
        "Webhook",
        "Webhooks",
        "Open",  # "Open API", the name of the platforms' HTTP API
        # The names Feishu's own console gives these credentials (the guide quotes them as is).
        "App",
        "ID",
        "Secret",
        "Encrypt",
        "Key",
        "Verification",
        "Token",
        # The language picker names each language in itself.
        "English",
        # Django's own Chinese catalog keeps the key names ("按住 Control 键, 或者 Mac 上的
        # Command 键来选择多个值").
        "Control",
        "Command",
        "Mac",
        # "Client ID" / "Client Secret": DingTalk's names, in its Chinese console too.
        "Client",
        # The command people type, quoted in sentences ("python manage.py feishu_connect").
        "python",
        # HTTP's header and scheme names and URL schemes, typed as they are.
        "Authorization",
        "Bearer",
        "http",
        "https",
        # The template language the notification templates are written in.
        "Jinja",
    }
)


class _VisibleText(HTMLParser):
    def __init__(self, skipped: set[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipped = skipped
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._skipped:
            self._skipping.append(tag)
            return
        values = dict(attrs)
        # Buttons drawn from <input> show their value; placeholders show until people type.
        if tag == "input" and values.get("type") in {"submit", "button", "reset"}:
            self.parts.append(values.get("value") or "")
        if tag in {"input", "textarea"} and values.get("placeholder"):
            self.parts.append(values["placeholder"] or "")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def visible_text(html: str, *, with_code: bool = False) -> str:
    """The page's text as a reader sees it; ``with_code`` keeps what code elements show (the
    permission names a step asks for), otherwise left out with other non-prose content."""
    parser = _VisibleText(_SKIPPED - {"code", "pre"} if with_code else _SKIPPED)
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


def words_of(text: str) -> set[str]:
    """Every ASCII word in ``text`` (used to allow the words of data a test seeded)."""
    return set(_WORD.findall(text))


def english_words(text: str, allow: Iterable[str] = ()) -> list[str]:
    """The English words of ``text`` (HTML or plain) not in ``allow`` or ``COMMON_ALLOW``.

    Left out: chunks that look like codes, URLs, numbers with units or identifiers, and
    upper-case abbreviations of up to five letters (API, URL, JSON, UTC, SMTP), identifiers and
    brands written with a capital inside (``alertLabels``, ``PagerDuty``) and anything in
    straight double quotes (JSON examples)."""
    allowed = COMMON_ALLOW | set(allow)
    found: list[str] = []
    readable = _TEMPLATE_CODE.sub(" ", visible_text(text) if "<" in text else text)
    for chunk in readable.split():
        if _JSON_MARKS.search(chunk):
            continue
        chunk = chunk.strip(_TRIM)
        if not chunk or _CODE_MARKS.search(chunk):
            continue
        for word in _WORD.findall(chunk):
            if word in allowed or (word.isupper() and len(word) <= 5) or _INNER_CAPITAL.match(word):
                continue
            found.append(word)
    return found
