"""What a subject line says: which problem it is about (its identity) and which words it holds.

The identity is what makes two mails about the same problem merge into one alert, although a
monitoring tool writes the current value, the time and an event number into every subject:

    [FIRING:2] CPU at 95% on db-1 since 2026-12-03 16:45:01 (event 0x7f3a9c21)
    [RESOLVED] CPU at 41% on db-1 since 2026-12-03 16:52:40 (event 0x7f3a9d07)

both come down to ``cpu at on db-1 since event``. In order, :func:`identity`:

1. folds case and drops reply and forward prefixes (``Re:``, ``Fwd:``, ``回复:``);
2. drops dates (``2026-12-03``, ``03/12/2026``, ``Dec 3 2026``, ``2026年12月3日``), times
   (``16:45``, ``16:45:01.123Z``) and hexadecimal ids (``0x7f3a``, UUIDs, runs of eight or more
   hex digits with a digit among them);
3. splits the rest into words at blanks and punctuation (``-``, ``_``, ``.``, ``/`` and ``@``
   stay inside a word, so ``db-1``, ``10.0.0.7`` and ``web01.example.com`` are kept whole);
4. drops words that are numbers, with or without a unit (``95%``, ``5m``, ``3.2GB``, ``#123``);
5. drops the state words: the recovery words and the trigger words (``problem``, ``firing``,
   ``critical``...), which tell the state of the problem, not which problem it is.

A number inside a name (``db-1``, ``web01``) is part of the name: two hosts stay two alerts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Words that say "the problem is happening" in subjects of common tools (Zabbix's "Problem:",
# Nagios' "PROBLEM", Alertmanager and Grafana's "[FIRING]", Chinese tools' 告警/故障).
TRIGGER_WORDS = (
    "problem",
    "firing",
    "alert",
    "alarm",
    "triggered",
    "critical",
    "warning",
    "warn",
    "error",
    "failed",
    "failure",
    "down",
    "告警",
    "报警",
    "故障",
    "异常",
)

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|回复|转发)\s*[:\uff1a]\s*)+", re.IGNORECASE)
_MONTHS = (
    "jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept|"
    "september|oct|october|nov|november|dec|december"
)
_WEEKDAYS = (
    "mon|monday|tue|tues|tuesday|wed|wednesday|thu|thur|thurs|thursday|fri|friday|sat|"
    "saturday|sun|sunday"
)
_DROPPED = re.compile(
    "|".join(
        (
            # ISO and numeric dates, with an optional time after a T or a blank
            r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
            r"(?:[t ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:z|[+-]\d{2}:?\d{2})?)?",
            r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}",
            # month names: "Dec 3 2026", "3 Dec 2026", "Dec 3"
            rf"(?<![a-z])(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?(?:\s+\d{{4}})?",
            rf"\d{{1,2}}\s+(?:{_MONTHS})(?![a-z])\.?(?:\s+\d{{4}})?",
            rf"(?<![a-z])(?:{_WEEKDAYS})(?![a-z])\.?,?",
            # Chinese dates and times: 2026年12月3日 16时05分
            r"\d+\s*[年月日时分秒]",
            # times of day, with seconds, fractions and a zone
            r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\s*(?:z|utc|gmt|[+-]\d{2}:?\d{2})?",
            # hexadecimal ids: 0x..., UUIDs, long hex runs with at least one digit
            r"0x[0-9a-f]+",
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            r"(?<![0-9a-z])(?=[a-f]*\d)[0-9a-f]{8,}(?![0-9a-z])",
        )
    ),
    re.IGNORECASE,
)
# A word: anything but blanks and punctuation; "-_./@" stay inside words (host names, IPs).
_WORD = re.compile(
    r"[^\s\[\](){}<>,;:!?\"'`|*=+#~^$&\\"
    # the full-width punctuation of Chinese text (colon, comma, full stop, brackets...)
    r"\uff1a\uff0c\u3002\uff1b\uff01\uff1f\uff08\uff09\u3010\u3011\u300a\u300b\u300c\u300d\u3001]+"
)
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?(?:%|[a-z]{1,3}|ms)?$", re.IGNORECASE)
_EDGE_PUNCTUATION = "-_./@"


def identity(subject: str, state_words: Iterable[str]) -> str:
    """The subject reduced to the words that name the problem (see the module docstring)."""
    ascii_words, other_words = _split_state_words(state_words)
    text = _REPLY_PREFIX.sub("", subject.casefold())
    text = _state_prefix(text, [*ascii_words, *other_words])
    text = _DROPPED.sub(" ", text)
    kept: list[str] = []
    for word in _WORD.findall(text):
        word = word.strip(_EDGE_PUNCTUATION)
        for other in other_words:  # 已恢复 holds 恢复: CJK words are not blank-separated
            word = word.replace(other, "")
        if word and not _NUMBER.match(word) and word not in ascii_words:
            kept.append(word)
    return " ".join(kept)


# What may stand between a leading state word and its colon: numbers, times and durations, and
# a few filler words. A name there ("Alert on db-1: ...") is kept: it is part of the identity.
_PHRASE_FILLER = (
    r"(?:\s+(?:[\d.:,/-]+[a-z]{0,3}|in|at|on|since|for|after|started|start|service|host|"
    r"event|time|of|from|to))*"
)


def _state_prefix(text: str, words: Sequence[str]) -> str:
    """``text`` without a leading "state phrase" ending in a colon, such as Zabbix's
    ``Resolved in 5m 3s:`` or ``Problem started at 16:45:01 on 2026.12.03:``, whose other words
    would otherwise stay in the identity of only one of the two states."""
    if not words:
        return text
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    state = rf"(?:{alternatives})(?![0-9a-z_])"
    colon = r"(?::(?=\s|$)|\uff1a)"  # a full-width colon needs no blank after it
    pattern = rf"^[\W_]*{state}(?:{_PHRASE_FILLER}\s+{state})*{_PHRASE_FILLER}\s*{colon}"
    return re.sub(pattern, " ", text, count=1)


def _split_state_words(words: Iterable[str]) -> tuple[set[str], list[str]]:
    folded = {word.casefold().strip() for word in words if word.strip()}
    ascii_words = {word for word in folded if word.isascii()}
    # Longest first, so that a word holding another is removed whole.
    return ascii_words, sorted(folded - ascii_words, key=len, reverse=True)


def find_word(text: str, words: Sequence[str]) -> str:
    """The first of ``words`` that occurs in ``text`` (case-insensitively), else "".

    An ASCII word must stand alone (``ok`` matches ``[OK]`` and ``ok:``, not ``token``); any
    other word matches anywhere (Chinese has no blanks between words)."""
    folded = text.casefold()
    for word in words:
        needle = word.casefold().strip()
        if not needle:
            continue
        if needle.isascii():
            pattern = rf"(?<![0-9a-z_]){re.escape(needle)}(?![0-9a-z_])"
            if re.search(pattern, folded):
                return word
        elif needle in folded:
            return word
    return ""
