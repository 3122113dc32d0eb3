"""Announcements other parts of the console subscribe to (card refresh, escalation).

``incident_changed`` is sent once the change is committed, never from inside the transaction,
with ``incident_id``, ``kind`` (a ``TimelineEntry.Kind`` value), ``actor_id``, ``source`` and
``incident``: the instance the change was made on, as committed, or None. It saves a read to a
receiver that only decides whether to act; one that writes reads the row again under a lock,
since later changes may have committed meanwhile.
"""

from django.dispatch import Signal

incident_changed = Signal()
