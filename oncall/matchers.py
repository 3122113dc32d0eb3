"""Label / field matchers, shared by routes and (later) escalation rule conditions.

A matcher is a small JSON object so that the admin, the API and the database all hold the same
shape: ``{"key": "labels.env", "op": "eq", "value": "prod"}``. ``key`` is ``labels.<name>``
or one of the event fields in :data:`FIELDS`. Regular expressions must match the whole value,
as in Alertmanager's matchers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

FIELDS = ("title", "description", "severity", "alert_key")
MAX_REGEX_CHARS = 512


class Op(models.TextChoices):
    EQUALS = "eq", _("equals")
    NOT_EQUALS = "neq", _("does not equal")
    REGEX = "re", _("matches regex")
    NOT_REGEX = "nre", _("does not match regex")
    EXISTS = "exists", _("exists")
    NOT_EXISTS = "absent", _("does not exist")


VALUELESS_OPS = {Op.EXISTS, Op.NOT_EXISTS}


@dataclass(frozen=True)
class Matcher:
    key: str
    op: Op
    value: str = ""

    def __post_init__(self) -> None:
        # Matchers run per event against every rule of a source or channel: decide the
        # comparison once, not per call.
        object.__setattr__(self, "_test", _test_for(self.op, self.value))

    def matches(self, subject: Mapping[str, str]) -> bool:
        """``subject`` maps keys (``labels.x``, ``title``...) to values; absent means missing."""
        return self._test(subject.get(self.key))  # type: ignore[attr-defined]


def _test_for(op: Op, value: str) -> Callable[[str | None], bool]:
    match op:
        case Op.EXISTS:
            return lambda actual: actual is not None
        case Op.NOT_EXISTS:
            return lambda actual: actual is None
        case Op.EQUALS:
            return lambda actual: actual == value
        case Op.NOT_EQUALS:
            return lambda actual: actual != value
        case Op.REGEX:
            whole = _compiled(value).fullmatch
            return lambda actual: actual is not None and whole(actual) is not None
        case Op.NOT_REGEX:
            whole = _compiled(value).fullmatch
            return lambda actual: actual is None or whole(actual) is None
    raise AssertionError(f"unhandled op {op}")


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def parse_matchers(raw: Any) -> list[Matcher]:
    """Validate the stored JSON and build matchers; raises ``ValidationError`` with a reason."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError("Matchers must be a list of {key, op, value} objects.")
    return [_parse_one(item, index) for index, item in enumerate(raw)]


def _parse_one(item: Any, index: int) -> Matcher:
    where = f"Matcher {index + 1}"
    if not isinstance(item, dict):
        raise ValidationError(f"{where} must be an object with key, op and value.")
    key, op, value = item.get("key"), item.get("op", Op.EQUALS), item.get("value", "")
    if not isinstance(key, str) or not valid_key(key):
        allowed = ", ".join(FIELDS)
        raise ValidationError(f"{where}: key must be 'labels.<name>' or one of {allowed}.")
    if op not in Op.values:
        raise ValidationError(f"{where}: op must be one of {', '.join(Op.values)}.")
    op = Op(op)
    if not isinstance(value, str):
        raise ValidationError(f"{where}: value must be a string.")
    if op in (Op.REGEX, Op.NOT_REGEX):
        _check_regex(value, where)
    return Matcher(key=key, op=op, value="" if op in VALUELESS_OPS else value)


def valid_key(key: str) -> bool:
    """``labels.<name>`` or one of :data:`FIELDS`."""
    return key in FIELDS or (key.startswith("labels.") and len(key) > len("labels."))


def _check_regex(pattern: str, where: str) -> None:
    if len(pattern) > MAX_REGEX_CHARS:
        raise ValidationError(f"{where}: the regex is longer than {MAX_REGEX_CHARS} characters.")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValidationError(f"{where}: invalid regex: {exc}.") from None


def all_match(matchers: Sequence[Matcher], subject: Mapping[str, str]) -> bool:
    # A loop, not all(genexpr): this runs per event per rule, and the generator cost more.
    for matcher in matchers:  # noqa: SIM110
        if not matcher.matches(subject):
            return False
    return True


def subject_of(
    *, title: str, description: str, severity: str, alert_key: str, labels: Mapping[str, str]
) -> dict[str, str]:
    """The flat mapping matchers look values up in."""
    subject = {f"labels.{name}": value for name, value in labels.items()}
    subject.update(title=title, description=description, severity=severity, alert_key=alert_key)
    return subject
