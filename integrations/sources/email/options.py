"""An e-mail source's options (``AlertSource.options``): how subjects become alerts.

    {
      "recovery_words": ["resolved", "recovered", "recovery", "ok", "cleared", "恢复", "已恢复"],
      "severity_words": {"critical": ["p1", "down"], "info": ["notice"]},
      "search_body": false,
      "identity": "subject",
      "key_pattern": "",
      "allowed_senders": ["zabbix@ops.example.com", "@monitoring.example.com"]
    }

``recovery_words``: a subject holding one of them resolves the alert (an ASCII word must stand
alone: ``ok`` matches ``[OK]``, not ``token``). ``severity_words``: the first listed severity
(critical, then warning, then info) with a word in the subject sets the alert's severity;
none: Warning, as the knowledge base says. ``search_body``: look for severity words in the body
too. ``identity``: ``subject`` (the normalised subject, so that the same problem merges) or
``message`` (every mail a new alert). ``key_pattern``: a regular expression searched in the
subject; its first group (else the whole match) is the alert's identity, and a subject it does
not match falls back to the normalised subject. ``allowed_senders``: addresses and ``@domain``
entries (case-insensitive; a domain entry is that domain only, not its subdomains) whose mail
the source takes; empty, the default: anyone's. It is checked against the envelope sender (SMTP's
``MAIL FROM``; a relay's envelope sender, else the mail's From), which the sending side chooses:
it keeps stray mail out, it is not proof of who sent it (the address stays the secret).
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
MAX_SENDERS = 100
MAX_ADDRESS_CHARS = 254  # RFC 5321's longest forward path, less its angle brackets
_KEYS = {
    "recovery_words",
    "severity_words",
    "search_body",
    "identity",
    "key_pattern",
    "allowed_senders",
}
# local@domain or @domain: no spaces, no second "@", no angle brackets or commas (a list
# pasted as one entry), a domain of one or more dot-separated labels.
_SENDER_ENTRY = re.compile(r"([^\s@<>,;]+)?@([^\s@<>,;.]+(?:\.[^\s@<>,;.]+)*)")


@dataclass(frozen=True)
class MailOptions:
    recovery_words: tuple[str, ...] = DEFAULT_RECOVERY_WORDS
    # (severity, words), most urgent first
    severity_words: tuple[tuple[Severity, tuple[str, ...]], ...] = ()
    search_body: bool = False
    identity: str = "subject"
    key_pattern: re.Pattern[str] | None = None
    # casefolded addresses and "@domain" entries; empty: anyone's mail
    allowed_senders: tuple[str, ...] = ()

    def allows(self, sender: str) -> bool:
        """Whether mail from ``sender`` (an address; ``""``: none, a bounce) is taken."""
        if not self.allowed_senders:
            return True
        address = sender.strip().strip("<>").casefold()
        local, at, domain = address.rpartition("@")
        if not (local and at and domain):
            return False
        return address in self.allowed_senders or f"@{domain}" in self.allowed_senders


def default_options() -> dict[str, Any]:
    return {
        "recovery_words": list(DEFAULT_RECOVERY_WORDS),
        "severity_words": {},
        "search_body": False,
        "identity": "subject",
        "key_pattern": "",
        "allowed_senders": [],
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
    cleaned["allowed_senders"] = _senders(cleaned["allowed_senders"])
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
        allowed_senders=tuple(cleaned["allowed_senders"]),
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


def _senders(value: Any) -> list[str]:
    """``allowed_senders`` casefolded, without repeats, each an address or an ``@domain``."""
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise ValidationError(
            _('allowed_senders must be a list such as ["zabbix@example.com", "@example.org"].')
        )
    entries = list(dict.fromkeys(entry.strip().casefold() for entry in value if entry.strip()))
    if len(entries) > MAX_SENDERS:
        raise ValidationError(
            _("allowed_senders holds %(count)d entries; at most %(limit)d.")
            % {"count": len(entries), "limit": MAX_SENDERS}
        )
    for entry in entries:
        if len(entry) > MAX_ADDRESS_CHARS or not _SENDER_ENTRY.fullmatch(entry):
            raise ValidationError(
                _(
                    "allowed_senders: “%(entry)s” is neither an address (name@example.com) "
                    "nor a domain (@example.com)."
                )
                % {"entry": entry[:80]}
            )
    return entries
