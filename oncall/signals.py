"""Announcements other parts of the console subscribe to (card refresh, escalation).

``incident_changed`` is sent once the change is committed, never from inside the transaction,
with ``incident_id``, ``kind`` (a ``TimelineEntry.Kind`` value), ``actor_id`` and ``source``.
"""

from django.dispatch import Signal

incident_changed = Signal()
