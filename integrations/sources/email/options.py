"""An e-mail source's options (``AlertSource.options``): how subjects become alerts.

    {
      "recovery_words": ["resolved", "recovered", "recovery", "ok", "cleared", "恢复", "已恢复"],
      "severity_words": {"critical": ["p1", "down"], "info": ["notice"]},
      "search_body": false,
      "identity": "subject",
      "key_pattern": ""
    }

``recovery_words``: a subject holding one of them resolves the alert (an ASCII word must stand
alone: ``ok`` matches ``[OK]``, not ``token``). ``severity_words``: the first listed severity
(critical, then warning, then info) with a word in the subject sets the alert's severity;
none: Warning, as the knowledge base says. ``search_body``: look for severity words in the body
too. ``identity``: ``subject`` (the normalised subject, so that the same problem merges) or
``message`` (every mail a new alert). ``key_pattern``: a regular expression searched in the
subject; its first group (else the whole match) is the alert's identity, and a subject it does
not match falls back to the normalised subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from oncall.events import Severity

DEFAULT_RECOVERY_WORDS = ("resolved", "recovered", "recovery", "ok", "cleared", "恢复", "已恢复")
IDENTITIES = ("subject", "message")
MAX_WORDS = 50
MAX_WORD_CHARS = 64
MAX_PATTERN_CHARS = 200
_KEYS = {"recovery_words", "severity_words", "search_body", "identity", "key_pattern"}


@dataclass(frozen=True)
class MailOptions:
    recovery_words: tuple[str, ...] = DEFAULT_RECOVERY_WORDS
    # (severity, words), most urgent first
    severity_words: tuple[tuple[Severity, tuple[str, ...]], ...] = ()
    search_body: bool = False
    identity: str = "subject"
    key_pattern: re.Pattern[str] | None = None


def default_options() -> dict[str, Any]:
    return {
        "recovery_words": list(DEFAULT_RECOVERY_WORDS),
        "severity_words": {},
        "search_body": False,
        "identity": "subject",
        "key_pattern": "",
    }


def clean_options(options: Any) -> dict[str, Any]:
    """``options`` checked and completed with the defaults; ``ValidationError`` naming the
    option that is wrong."""
    if options in (None, ""):
        options = {}
    if not isinstance(options, dict):
        raise ValidationError(_("The options must be a JSON object."))
    unknown = sorted(set(options) - _KEYS)
    if unknown:
        raise ValidationError(
            _("Unknown option(s) %(unknown)s: the e-mail options are %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(_KEYS))}
        )
    cleaned = {**default_options(), **options}
    cleaned["recovery_words"] = _words(cleaned["recovery_words"], "recovery_words")
    cleaned["severity_words"] = _severity_words(cleaned["severity_words"])
    if not isinstance(cleaned["search_body"], bool):
        raise ValidationError(_("search_body must be true or false."))
    if cleaned["identity"] not in IDENTITIES:
        raise ValidationError(
            _("identity must be one of %(choices)s.") % {"choices": ", ".join(IDENTITIES)}
        )
    _pattern(cleaned["key_pattern"])
    return cleaned


def read_options(options: Any) -> MailOptions:
    """The typed options of a stored (already cleaned) ``AlertSource.options``; what is
    missing or unreadable takes its default, so that mail is never refused for its source's
    settings."""
    try:
        cleaned = clean_options(options)
    except ValidationError:
        cleaned = default_options()
    severity_words = tuple(
        (severity, tuple(cleaned["severity_words"].get(severity.value, ())))
        for severity in Severity
        if cleaned["severity_words"].get(severity.value)
    )
    return MailOptions(
        recovery_words=tuple(cleaned["recovery_words"]),
        severity_words=severity_words,
        search_body=cleaned["search_body"],
        identity=cleaned["identity"],
        key_pattern=_pattern(cleaned["key_pattern"]),
    )


def _words(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        raise ValidationError(
            _('%(name)s must be a list of words, e.g. ["resolved", "ok"].') % {"name": name}
        )
    words = [word.strip() for word in value if word.strip()]
    if len(words) > MAX_WORDS:
        raise ValidationError(
            _("%(name)s holds %(count)d words; at most %(limit)d.")
            % {"name": name, "count": len(words), "limit": MAX_WORDS}
        )
    too_long = [word for word in words if len(word) > MAX_WORD_CHARS]
    if too_long:
        raise ValidationError(
            _("%(name)s: “%(word)s” is longer than %(limit)d characters.")
            % {"name": name, "word": too_long[0], "limit": MAX_WORD_CHARS}
        )
    return words


def _severity_words(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise ValidationError(
            _('severity_words must be an object such as {"critical": ["p1", "down"]}.')
        )
    unknown = sorted(set(value) - set(Severity.values))
    if unknown:
        raise ValidationError(
            _("severity_words: unknown severity “%(name)s”; use %(choices)s.")
            % {"name": unknown[0], "choices": ", ".join(Severity.values)}
        )
    return {key: _words(words, f"severity_words.{key}") for key, words in value.items()}


def _pattern(value: Any) -> re.Pattern[str] | None:
    if not isinstance(value, str):
        raise ValidationError(_("key_pattern must be a regular expression (a string)."))
    if not value:
        return None
    if len(value) > MAX_PATTERN_CHARS:
        raise ValidationError(
            _("key_pattern is longer than %(limit)d characters.") % {"limit": MAX_PATTERN_CHARS}
        )
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as error:
        raise ValidationError(
            _("key_pattern is not a valid regular expression: %(error)s.") % {"error": error}
        ) from None
