"""What a worker compiled from an owner's rules, kept for the owner's rules version.

The owners (a source, a channel) carry versions that every write of their rules renews
(``oncall.models.versions``). A merge reads the owner rows anyway, so asking here costs no
query while the rules stay as they were, and one read and compile after they change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar
from uuid import UUID

T = TypeVar("T")


class PerVersion(Generic[T]):
    """One compiled value per key, valid for one version of the key's rules."""

    def __init__(self) -> None:
        # Threads may both compile a value; either result is right, and the last one stays.
        self._known: dict[Hashable, tuple[UUID, T]] = {}

    def get(self, key: Hashable, version: UUID, compile_rules: Callable[[], T]) -> T:
        known = self._known.get(key)
        if known is not None and known[0] == version:
            return known[1]
        value = compile_rules()
        self._known[key] = (version, value)
        return value
