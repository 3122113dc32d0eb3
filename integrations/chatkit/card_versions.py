"""A version per incident of what a platform's cards show, in the shared cache: what lets a
card rendered once be reused, and a send skip the sync of a card that cannot have changed.

Every change a platform's cards show gives the incident a new random version (``changed``,
from the platform's ``incident_changed``). A render reads the version *before* it reads the
incident (``at_render``), so the card shows at least every change whose version it names; a
change committed after that read gets a new version when it is announced, and the card is
stale from then on (``changed_since``).

A new incident's first card is usually rendered before anything was announced about it: its
first escalation step is handed out in the commit that creates it, ahead of the announcement
of its creation (and with tasks run inline, the cards are sent before it). Without a version a
card could be neither reused nor known current, so every send rendered it again and asked for
a sync that rendered it once more. Instead, a render with no version starts one: the sends
that follow reuse its card and find it current. (The creation's announcement, coming later,
gives a new version like any change: the sends are done by then, or the next one renders
once more; an id a deleted incident had, which SQLite may give again, is never mistaken.)

The cache holds no correctness: flushed, the next render starts a version and renders afresh,
and a send that finds its version gone asks for a sync, which finds the copies current.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache

# A version outlives any card stored under it; past that, the next render starts another.
VERSION_SECONDS = 24 * 3600


class CardVersions:
    """One platform's versions (``namespace``: its cards differ from another platform's, so
    each keeps its own)."""

    def __init__(self, namespace: str):
        self.namespace = namespace

    def key(self, incident_id: int) -> str:
        return f"{self.namespace}:card-version:{incident_id}"

    def changed(self, incident_id: int) -> None:
        """The incident changed in a way its cards show: cards rendered before are stale."""
        cache.set(self.key(incident_id), _new(), timeout=VERSION_SECONDS)

    def current(self, incident_id: int) -> str | None:
        return cache.get(self.key(incident_id))

    def at_render(self, incident_id: int, known: str | None = None) -> str | None:
        """The version a render about to read the incident is made at: ``known`` (the caller
        read it already, with other keys) or the current one, else one started now. None only
        when the cache would not keep it (a card rendered then is never reused)."""
        if known is not None:
            return known
        found = self.current(incident_id)
        if found is not None:
            return found
        cache.add(self.key(incident_id), _new(), timeout=VERSION_SECONDS)
        return self.current(incident_id)

    def changed_since(self, incident_id: int, version: str | None) -> bool:
        """Whether the incident may have changed after a card made at ``version``."""
        return version is None or self.current(incident_id) != version


def _new() -> str:
    return uuid.uuid4().hex
