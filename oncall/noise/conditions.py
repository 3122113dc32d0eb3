"""Conditions: the console's matchers (``oncall.matchers``) combined with AND and OR.

Stored as JSON in the matchers' shape, so that the admin, the API and the database hold the same
thing: a list of groups, each a list of matchers, ``[[m1, m2], [m3]]`` meaning
``(m1 AND m2) OR m3`` (as Flashduty's filter conditions: AND within a group, OR between groups).
A flat list of matchers, ``[m1, m2]``, is one group, the shape routes use. An empty condition
holds for every alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from oncall.matchers import FIELDS, Matcher, all_match, parse_matchers

MAX_GROUPS = 20


@dataclass(frozen=True)
class Condition:
    """Groups of matchers: the condition holds when every matcher of one group does."""

    groups: tuple[tuple[Matcher, ...], ...] = ()

    def matches(self, subject: Mapping[str, str]) -> bool:
        if not self.groups:
            return True
        # A loop, not any(genexpr): this runs per event per rule (see ``all_match``).
        for group in self.groups:  # noqa: SIM110
            if all_match(group, subject):
                return True
        return False


def parse_condition(raw: Any) -> Condition:
    """Validate the stored JSON and build the condition; ``ValidationError`` with a reason."""
    if raw in (None, "", []):
        return Condition()
    if not isinstance(raw, list):
        raise ValidationError("A condition is a list of matchers, or a list of lists of them.")
    if all(isinstance(item, dict) for item in raw):
        return Condition((tuple(parse_matchers(raw)),))
    if not all(isinstance(item, list) for item in raw):
        raise ValidationError(
            "A condition is either a list of matchers (all must hold) or a list of groups "
            "(lists of matchers: one group must hold), not a mix of both."
        )
    if len(raw) > MAX_GROUPS:
        raise ValidationError(f"A condition has at most {MAX_GROUPS} groups.")
    groups = []
    for index, group in enumerate(raw):
        if not group:
            raise ValidationError(f"Group {index + 1} is empty: give it at least one matcher.")
        try:
            groups.append(tuple(parse_matchers(group)))
        except ValidationError as error:
            raise ValidationError(f"Group {index + 1}: {' '.join(error.messages)}") from None
    return Condition(tuple(groups))


def validate_condition(value: Any) -> None:
    parse_condition(value)


def validate_keys(value: Any) -> None:
    """A list of alert keys as matchers name them: ``labels.<name>`` or a field."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError('Enter a list of keys, e.g. ["labels.host", "title"].')
    for key in value:
        if key not in FIELDS and not (key.startswith("labels.") and len(key) > len("labels.")):
            raise ValidationError(
                f"“{key}” is not a key: use labels.<name> or one of {', '.join(FIELDS)}."
            )
    if len(set(value)) != len(value):
        raise ValidationError("Each key may appear once.")
