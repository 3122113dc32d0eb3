"""What the admin and the API say about a schedule's configuration: the refusals they share
(a turn order that makes no sense) and the warnings they show without refusing (a schedule
that works, but perhaps not as its admin thinks).

A layer needs at least one participant, in the admin and the API alike: an empty rotation
has nobody on call ever, which is never what was meant (a schedule without layers, holding
only overrides, is fine). The same person twice in a row is refused too: the two turns would
simply join into one, so the order does not say what it seems to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oncall.models.schedules import Schedule
from oncall.schedules import resolve
from oncall.schedules.rotation import final_shifts, layer_shifts, local_moment
from oncall.timeline import display_name

WARNING_HORIZON = timedelta(days=14)


def check_turn_order(people: Sequence[Any]) -> None:
    """Refuse an empty turn order and a person listed twice in a row."""
    if not people:
        raise ValidationError(
            gettext_lazy("A layer needs at least one participant: list people in turn order."),
            code="no_participants",
        )
    for number, (before, after) in enumerate(pairwise(people), start=2):
        if before == after:
            raise ValidationError(
                gettext_lazy(
                    "%(person)s is listed twice in a row (places %(before)s and %(number)s): "
                    "their turns would join into one. List them once, or make the turn longer."
                ),
                code="repeated_participant",
                params={"person": display_name(after), "before": number - 1, "number": number},
            )


def schedule_warnings(schedule: Schedule, now: datetime) -> list[str]:
    """What may not work as meant, for the next two weeks from ``now``: layers without
    participants, deactivated participants (their turns are gaps), layers that have ended,
    layers that have nobody in the period, and a schedule that has nobody at all."""
    start, end = now, now + WARNING_HORIZON
    loaded = resolve.load(schedule, start, end)
    spec = resolve.spec_of(loaded)
    zone = spec.zone
    warnings: list[str] = []
    for row, layer in zip(loaded.layers.all(), spec.layers, strict=True):
        participants = list(row.participants.all())
        name = row.name
        if not participants:
            warnings.append(
                _("Layer “%(layer)s” has no participants: nobody is on call through it.")
                % {"layer": name}
            )
            continue
        inactive = {p.user.pk: p.user for p in participants if not p.user.is_active}
        for person in sorted(inactive.values(), key=lambda user: user.get_username()):
            warnings.append(
                _(
                    "Layer “%(layer)s”: %(person)s's account is deactivated, so their turns "
                    "are gaps."
                )
                % {"layer": name, "person": display_name(person)}
            )
        if row.end_date is not None and local_moment(zone, row.end_date, row.handoff_time) <= now:
            warnings.append(
                _("Layer “%(layer)s” ended on %(day)s: nobody is on call through it any more.")
                % {"layer": name, "day": row.end_date.isoformat()}
            )
        elif not layer_shifts(layer, zone, start, end):
            warnings.append(
                _(
                    "Layer “%(layer)s” has nobody on call in the next two weeks: check its "
                    "start date, restrictions and participants."
                )
                % {"layer": name}
            )
    if not final_shifts(spec, start, end):
        warnings.append(_("Nobody is on call at any time in the next two weeks."))
    return warnings
