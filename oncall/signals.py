"""Announcements for refreshing what shows an incident (cards on chat platforms, pages).

``incident_changed`` is sent once the change is committed, never from inside the transaction,
with ``incident_id``, ``kind`` (a ``TimelineEntry.Kind`` value), ``actor_id``, ``source`` and
``incident``: the instance the change was made on, as committed, or None. It saves a read to a
receiver that only decides whether to act; one that writes reads the row again under a lock,
since later changes may have committed meanwhile.

Nothing that must happen hangs on it: work a change makes necessary (escalation) is planned in
the change's transaction. An announcement can be lost with its process, and a receiver that
raises is logged without stopping the others (``send_incident_changed``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger(__name__)

incident_changed = Signal()


def send_incident_changed(sender: Any, **named: Any) -> None:
    """Send ``incident_changed`` to every receiver, logging each one that raised."""
    for receiver, result in incident_changed.send_robust(sender, **named):
        if isinstance(result, Exception):
            logger.error(
                "incident_changed receiver %s failed on incident %s (%s)",
                _name(receiver),
                named.get("incident_id"),
                named.get("kind"),
                exc_info=result,
            )


def _name(receiver: Any) -> str:
    qualname = getattr(receiver, "__qualname__", None) or repr(receiver)
    module = getattr(receiver, "__module__", None)
    return f"{module}.{qualname}" if module else qualname
