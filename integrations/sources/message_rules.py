"""Rules for sources whose payload is a message written for people rather than alert data.

A tool that can only notify a chat group's robot (Feishu, DingTalk) sends a title and some
text, and nothing that says how urgent it is, whether it is a recovery, or which problem it is
about. The knowledge base's "Feishu / DingTalk alert" sources read those from the words
(https://github.com/flashcatcloud/flashduty-docs, ``en/on-call/integration/alert-integration/
alert-sources/lark-alert.mdx`` and ``dingtalk-alert.mdx``: "close the alert when the message
contains RESOLVED", an Alert Key extracted from the title by a regular expression, else the
title). Shared by the ``feishu_robot`` and ``dingtalk_robot`` kinds; an e-mail kind (a subject
and a body) fits it too.

* :class:`MessageRules` is the source's options: the words that mark a recovery, the words of
  each severity, whether to look for them in the body too, and an optional pattern that takes
  the identity out of the title.
* Identity (:func:`title_identity`): the title lower-cased, without the status and severity
  words and without numbers (counts, values, dates, times), as its words: ``[FIRING:2] Disk
  95% on db-1`` and ``[RESOLVED] Disk 97% on db-1`` are the same problem.
* :class:`Message` is what a parser read (title, body, links, labels); :meth:`MessageRules.event`
  makes it an alert event.
* Signatures (:func:`timestamp_within_window`): both robots sign a timestamp, refused when more
  than an hour away from now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from integrations.sources.common import first_nonblank, truncate
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    Image,
    Link,
    Severity,
    stable_key,
)
from oncall.sources import DeclaredOption, OptionType

# Both robots refuse a signed timestamp more than an hour away from their clock.
SIGNATURE_WINDOW_SECONDS = 3600
MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 64
MAX_PATTERN_CHARS = 256
MAX_LINKS = 20

# Matched as whole words where they begin or end with a Latin letter or digit ("P1" is not in
# "P10"); Chinese words as they stand. Kept short on purpose: a word in a firing message's title
# that happens to be here would close its alert. "未恢复" ("not yet recovered") contains 恢复:
# a tool that writes it in a firing title needs its own list.
DEFAULT_RECOVERY_KEYWORDS = ("resolved", "recovered", "已恢复", "恢复", "已解决")
DEFAULT_SEVERITY_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    Severity.CRITICAL: (
        "critical",
        "disaster",
        "fatal",
        "emergency",
        "p0",
        "p1",
        "严重",
        "紧急",
        "致命",
        "灾难",
    ),
    Severity.WARNING: ("warning", "warn", "p2", "警告"),
    Severity.INFO: ("info", "informational", "notice", "提示"),
}
# Status words that a firing title carries and its recovery does not: left out of the identity.
FIRING_WORDS = ("firing", "problem", "alerting", "triggered", "告警", "触发", "故障")

_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"\w+")


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """``keyword`` case-insensitively; with word boundaries at a Latin letter or digit end."""
    pattern = re.escape(keyword)
    if _ASCII_WORD.match(keyword[0]):
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if _ASCII_WORD.match(keyword[-1]):
        pattern += r"(?![A-Za-z0-9])"
    return re.compile(pattern, re.IGNORECASE)


def first_keyword(text: str, keywords: Iterable[str]) -> str | None:
    """The first of ``keywords`` found in ``text``, else ``None``."""
    return next((word for word in keywords if keyword_pattern(word).search(text)), None)


def title_identity(title: str, drop: Iterable[str] = ()) -> str:
    """The words of ``title`` that name the problem: lower-cased, without the words in ``drop``
    (longest first, so that 故障恢复 goes before 故障) and without numbers."""
    text = title.lower()
    for word in sorted({w for w in drop if w}, key=len, reverse=True):
        text = keyword_pattern(word).sub(" ", text)
    return " ".join(_WORD.findall(_DIGITS.sub(" ", text)))


@dataclass(frozen=True)
class Message:
    """A message as a parser read it: its title (may be empty: the first line of the body is
    used), its body as plain text, and what else the console can show."""

    title: str
    body: str
    default_title: str
    labels: dict[str, str] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What a message's words say: firing or a recovery, its severity and the sender's word."""

    resolved: bool
    severity: Severity
    raw_severity: str


@dataclass(frozen=True)
class MessageRules:
    """A chat-robot source's options (``AlertSource.options``), read by :meth:`from_options`."""

    recovery_keywords: tuple[str, ...] = DEFAULT_RECOVERY_KEYWORDS
    severity_keywords: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_SEVERITY_KEYWORDS)
    )
    default_severity: Severity = Severity.WARNING
    match_body: bool = False
    alert_key_pattern: str = ""

    # --- options ------------------------------------------------------------------------------

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        rules = cls()
        return {
            "recovery_keywords": list(rules.recovery_keywords),
            "severity_keywords": {
                str(sev): list(words) for sev, words in rules.severity_keywords.items()
            },
            "default_severity": str(rules.default_severity),
            "match_body": rules.match_body,
            "alert_key_pattern": rules.alert_key_pattern,
        }

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MessageRules:
        """The rules an options object sets (missing keys keep their defaults), else a
        ``ValidationError`` naming the key."""
        unknown = sorted(set(options) - set(cls.defaults()))
        if unknown:
            raise ValidationError(_("Unknown option(s): %(keys)s.") % {"keys": ", ".join(unknown)})
        defaults = cls()
        return cls(
            recovery_keywords=_keywords(
                options.get("recovery_keywords", defaults.recovery_keywords), "recovery_keywords"
            ),
            severity_keywords=_severity_keywords(
                options.get("severity_keywords", defaults.severity_keywords)
            ),
            default_severity=_severity(options.get("default_severity", "warning")),
            match_body=_boolean(options.get("match_body", False), "match_body"),
            alert_key_pattern=_pattern(options.get("alert_key_pattern", "")),
        )

    # --- reading a message --------------------------------------------------------------------

    def verdict(self, title: str, body: str) -> Verdict:
        """Recovery and severity from the title's words (and the body's, with ``match_body``)."""
        texts = [title, body] if self.match_body else [title]
        resolved = any(first_keyword(text, self.recovery_keywords) for text in texts)
        for severity in Severity:  # most urgent first
            for text in texts:
                word = first_keyword(text, self.severity_keywords.get(severity, ()))
                if word:
                    return Verdict(resolved, severity, word)
        return Verdict(resolved, self.default_severity, "")

    def event(self, message: Message) -> AlertEvent:
        """The alert event of one message, firing or resolved as its words say."""
        title = truncate(
            first_nonblank(message.title.strip(), _first_line(message.body), message.default_title),
            MAX_TITLE_CHARS,
        )
        body = message.body.strip()
        verdict = self.verdict(title, body)
        return AlertEvent(
            alert_key=self.alert_key(title),
            kind=EventKind.RESOLVED if verdict.resolved else EventKind.FIRING,
            title=title,
            severity=verdict.severity,
            raw_severity=verdict.raw_severity,
            description=truncate(body, MAX_DESCRIPTION_CHARS) if body != title else "",
            labels=message.labels,
            links=message.links[:MAX_LINKS],
            images=message.images[:MAX_LINKS],
        )

    def alert_key(self, title: str) -> str:
        """The message's identity: what ``alert_key_pattern`` takes out of the title (its first
        group, or the whole match), else the title's words (:func:`title_identity`). Hashed, so
        that it is short and says nothing the title does not."""
        if self.alert_key_pattern:
            match = re.search(self.alert_key_pattern, title)
            if match:
                found = match.group(1) if match.groups() else match.group(0)
                if found and found.strip():
                    return stable_key("pattern", found.strip())
        return stable_key("title", title_identity(title, self._status_words()))

    def _status_words(self) -> list[str]:
        words = [*self.recovery_keywords, *FIRING_WORDS]
        for keywords in self.severity_keywords.values():
            words.extend(keywords)
        return words


# --- validation -------------------------------------------------------------------------------


def _keywords(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(word, str) and word.strip() for word in value
    ):
        raise ValidationError(_("%(key)s must be a list of non-empty words.") % {"key": key})
    if len(value) > MAX_KEYWORDS or any(len(word) > MAX_KEYWORD_CHARS for word in value):
        raise ValidationError(
            _("%(key)s takes at most %(count)d words of at most %(chars)d characters.")
            % {"key": key, "count": MAX_KEYWORDS, "chars": MAX_KEYWORD_CHARS}
        )
    return tuple(word.strip() for word in value)


def _severity_keywords(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping) or not set(value) <= set(Severity.values):
        raise ValidationError(
            _("severity_keywords must be an object whose keys are among %(severities)s.")
            % {"severities": ", ".join(Severity.values)}
        )
    return {str(sev): _keywords(words, f"severity_keywords.{sev}") for sev, words in value.items()}


def _severity(value: Any) -> Severity:
    if value not in Severity.values:
        raise ValidationError(
            _("default_severity must be one of %(severities)s.")
            % {"severities": ", ".join(Severity.values)}
        )
    return Severity(value)


def _boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(_("%(key)s must be true or false.") % {"key": key})
    return value


def _pattern(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_PATTERN_CHARS:
        raise ValidationError(
            _("alert_key_pattern must be a regular expression of at most %(chars)d characters.")
            % {"chars": MAX_PATTERN_CHARS}
        )
    try:
        re.compile(value)
    except re.error as error:
        raise ValidationError(
            _("alert_key_pattern is not a valid regular expression: %(error)s") % {"error": error}
        ) from None
    return value


# --- signatures -------------------------------------------------------------------------------


def hmac_sha256_base64(key: str, message: str) -> str:
    """Base64 of HMAC-SHA256: what both robots' signatures are made of (with different keys
    and messages: see each source)."""
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison, so that a wrong signature says nothing about the right one."""
    return hmac.compare_digest(expected.encode(), given.encode())


def timestamp_within_window(timestamp: float, now: float) -> bool:
    """Whether a signed timestamp (seconds) is within the robots' hour of ``now``."""
    return abs(now - timestamp) <= SIGNATURE_WINDOW_SECONDS


def integer(value: Any) -> int | None:
    """A timestamp sent as a number or as digits, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _TIMESTAMP.fullmatch(value.strip()):
        return int(value.strip())
    return None


# --- text -------------------------------------------------------------------------------------


def join_lines(lines: Iterable[str]) -> str:
    """Non-blank lines joined by newlines, each stripped of trailing blanks."""
    return "\n".join(line.rstrip() for line in lines if line and line.strip())


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


_MARKDOWN_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\((https?://[^\s)]+)\)")
# A written-out URL: RFC 3986's characters but quotes and parentheses, so that it ends at a
# blank, a bracket or Chinese text and punctuation, which tools write right after it.
_BARE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]+")
_TRAILING_PUNCTUATION = ".,;:!?]"


def markdown_links(text: str) -> tuple[Link, ...]:
    """The http(s) links of Markdown text, ``[text](url)`` (images excepted)."""
    return tuple(
        Link(href=url, text=label.strip())
        for bang, label, url in _MARKDOWN_LINK.findall(text)
        if not bang
    )


def markdown_images(text: str) -> tuple[Image, ...]:
    """The http(s) images of Markdown text, ``![alt](url)`` (a chart a tool attached)."""
    return tuple(
        Image(src=url, alt=label.strip())
        for bang, label, url in _MARKDOWN_LINK.findall(text)
        if bang
    )


def bare_urls(text: str) -> tuple[Link, ...]:
    """The http(s) URLs written out in plain text, each once, in order."""
    urls = dict.fromkeys(url.rstrip(_TRAILING_PUNCTUATION) for url in _BARE_URL.findall(text))
    return tuple(Link(href=url, text=url) for url in urls)


# --- the options, for a source kind -----------------------------------------------------------


class MessageRulesOptions:
    """A source kind's options are :class:`MessageRules` (mixed into a ``SourceKind``)."""

    identity = _(
        "the title's words, without numbers and status or severity words (or what "
        "`alert_key_pattern` takes out of the title)"
    )
    recovery = _(
        "a recovery word in the title (`recovery_keywords`: resolved, recovered, 已恢复, 恢复, "
        "已解决)"
    )
    severity_table = (
        *((" / ".join(words), Severity(sev)) for sev, words in DEFAULT_SEVERITY_KEYWORDS.items()),
        (_("none of these words"), Severity.WARNING),
    )

    def default_options(self) -> dict[str, Any]:
        return MessageRules.defaults()

    def clean_options(self, options: Any) -> dict[str, Any]:
        if options in (None, {}):
            return MessageRules.defaults()
        if not isinstance(options, dict):
            raise ValidationError(_("The options must be an object."))
        MessageRules.from_options(options)
        return {**MessageRules.defaults(), **options}

    def declared_options(self) -> Sequence[DeclaredOption]:
        return (
            DeclaredOption(
                "recovery_keywords",
                _("Recovery words"),
                OptionType.WORDS,
                _("A message with one of these words is a recovery."),
            ),
            DeclaredOption(
                "severity_keywords",
                _("Severity words"),
                OptionType.SEVERITY_WORDS,
                _("The most urgent severity with a word in the message wins."),
            ),
            DeclaredOption(
                "default_severity",
                _("Default severity"),
                OptionType.CHOICE,
                _("When no severity word is found."),
                Severity.choices,
            ),
            DeclaredOption(
                "match_body",
                _("Look in the text too"),
                OptionType.YES_NO,
                _("Look for the words in the message's text, not only its title."),
            ),
            DeclaredOption(
                "alert_key_pattern",
                _("Alert key pattern"),
                OptionType.TEXT,
                _(
                    "A regular expression whose first group (or match) in the title is the "
                    "alert's identity; empty: the title's words without numbers."
                ),
            ),
        )

    def options_help(self) -> str:
        return str(
            _(
                "recovery_keywords: words that make a message a recovery; severity_keywords: "
                "words per severity (critical, warning, info), the most urgent found wins; "
                "default_severity: when none is found; match_body: look for the words in the "
                "text too, not only the title; alert_key_pattern: a regular expression whose "
                "first group (or match) in the title is the alert's identity, else the title's "
                "words without numbers."
            )
        )


def rules_of(options: Mapping[str, Any]) -> MessageRules:
    """The rules of a source's stored options; the defaults if they were stored invalid (the
    admin refuses them, but a message must still be read)."""
    try:
        return MessageRules.from_options(options)
    except ValidationError:
        return MessageRules()
