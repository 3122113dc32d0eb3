"""Card delivery bookkeeping that every chat platform does alike: one delivery row per
(incident, app, recipient), where a recipient is a person or a group chat, each row counting the
notifications asked of it; and the refusals recorded on those rows and on the timeline.

A platform's delivery model has ``incident``, ``app``, ``user``, a group foreign key (named by
the platform: ``chat``, ``group``), ``requested``, ``state``, ``last_error`` and ``updated_at``,
unique per recipient.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from oncall import platforms
from oncall.models import Incident, TimelineEntry
from oncall.timeline import Actor, build, record_many
from oncall.timeline_messages import Phrase

# A refusal: the delivery, the state it is refused with, and why (for the timeline).
Refusal = tuple[Any, Any, Phrase]


def request(
    model: type[models.Model],
    incident: Incident,
    app: Any,
    users: Sequence[Any],
    groups: Sequence[Any],
    *,
    group_field: str,
    related: Iterable[str] = (),
) -> dict[tuple[str, int], Any]:
    """One more notification asked of each recipient's delivery (made when missing), keyed
    ``("user", pk)`` or ``(group_field, pk)``: three queries however many recipients. The insert
    skips rows that exist (or that a concurrent notify just made), and the increment is one
    UPDATE, which locks the rows as a SELECT ... FOR UPDATE would."""
    model.objects.bulk_create(
        [model(incident=incident, app=app, user=user) for user in users]
        + [model(incident=incident, app=app, **{group_field: group}) for group in groups],
        ignore_conflicts=True,
    )
    mine = model.objects.filter(incident=incident, app=app).filter(
        Q(user__in=[u.pk for u in users]) | Q(**{f"{group_field}__in": [g.pk for g in groups]})
    )
    mine.update(requested=F("requested") + 1, updated_at=timezone.now())
    rows: dict[tuple[str, int], Any] = {}
    for delivery in mine.select_related(*related) if related else mine:
        delivery.incident = incident  # the caller's, not read again
        group_id = getattr(delivery, f"{group_field}_id")
        rows[(group_field, group_id) if group_id else ("user", delivery.user_id)] = delivery
    return rows


def refuse(
    model: type[models.Model],
    platform_name: str,
    incident: Incident,
    refused: Sequence[Refusal],
    *,
    stamp: bool = False,
) -> None:
    """Record why recipients get nothing (one UPDATE); on the timeline once per change of
    reason (one INSERT), however many recipients: this runs under the incident's lock.
    ``stamp``: the rows' ``updated_at`` is set too."""
    if not refused:
        return
    entries = [
        build(incident, TimelineEntry.Kind.DELIVERY_FAILED, Actor.system(), message)
        for delivery, state, message in refused
        if delivery.state != state
    ]
    now = timezone.now()
    for delivery, state, message in refused:
        delivery.state = state
        delivery.last_error = message.in_language("en")  # the admin's column, as stored text
        if stamp:
            delivery.updated_at = now
    fields = ["state", "last_error", "updated_at"] if stamp else ["state", "last_error"]
    model.objects.bulk_update([delivery for delivery, _, _ in refused], fields)
    record_many(entries)
    for state, count in Counter(state for _, state, _ in refused).items():
        platforms.notifications_failed(platform_name, state.value, count)
