"""Shift swaps of a schedule, for responders: ``/schedules/<id>/swaps/``.

The page lists the open requests the person can see (those of schedules they take part in),
with a Take button for those they may take and a Cancel button on their own, a form to give
away one of their upcoming shifts (or a part of it: from/to within it, in the schedule's zone),
and the latest swaps. Asking, taking and cancelling are POSTs through ``oncall.schedules.swaps``
(post, redirect, get: a reload never repeats one), answered with a message on the page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oncall.models import Schedule, ShiftSwap
from oncall.models.shift_swaps import SWAP_NOTE_MAX_CHARS
from oncall.permissions import visible_swaps
from oncall.schedules import resolve, swaps
from oncall.schedules.rotation import Shift, wall_clock_moment
from oncall.timeline import display_name

RECENT_LIMIT = 10
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class AskSwapForm(forms.Form):
    """Which of my upcoming shifts to give away, optionally only from/to within it (local
    times in the schedule's zone, as a ``datetime-local`` input sends them)."""

    shift = forms.ChoiceField(
        label=pgettext_lazy("shift swap", "Shift"),
        error_messages={
            "invalid_choice": gettext_lazy(
                "That shift is no longer yours (the schedule changed): choose again."
            )
        },
    )
    start = forms.CharField(label=pgettext_lazy("shift swap", "From"), required=False)
    end = forms.CharField(label=pgettext_lazy("shift swap", "To"), required=False)
    note = forms.CharField(
        label=pgettext_lazy("shift swap", "Note"),
        required=False,
        max_length=SWAP_NOTE_MAX_CHARS,
        help_text=gettext_lazy("Optional, e.g. “family trip, happy to swap back”."),
    )

    def __init__(self, *args: Any, schedule: Schedule, shifts: list[Shift], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedule, self.zone = schedule, ZoneInfo(schedule.time_zone)
        self.shifts = {_shift_key(s): s for s in shifts}
        self.fields["shift"].choices = [
            (key, swaps.period_text(schedule, s.start, s.end)) for key, s in self.shifts.items()
        ]

    def _local(self, name: str) -> datetime | None:
        value = self.cleaned_data.get(name) or ""
        if not value:
            return None
        try:
            naive = datetime.strptime(value, LOCAL_INPUT_FORMAT)
        except ValueError:
            self.add_error(name, _("Enter a date and time such as 2026-01-12T09:00."))
            return None
        return wall_clock_moment(self.zone, naive)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        shift = self.shifts.get(data.get("shift", ""))
        start, end = self._local("start"), self._local("end")
        if shift is None or self.errors:
            return data
        data["period_start"] = start or shift.start
        data["period_end"] = end or shift.end
        if not (shift.start <= data["period_start"] < data["period_end"] <= shift.end):
            raise forms.ValidationError(
                _("From and to must lie within the shift you chose (%(period)s), from before to.")
                % {"period": swaps.period_text(self.schedule, shift.start, shift.end)}
            )
        return data


def _preselected(request: HttpRequest, schedule: Schedule, shifts: list[Shift]) -> dict[str, str]:
    """``?start=...&end=...`` (ISO 8601, as the schedule page's shifts carry them): the shift
    holding that period chosen in the form, and the period itself when it is only a part."""
    start, end = _moment(request.GET.get("start")), _moment(request.GET.get("end"))
    if start is None:
        return {}
    # Overlapping rather than holding: the shift under way starts now in ``shifts``.
    until = end if end is not None and end > start else start + timedelta(microseconds=1)
    shift = next((s for s in shifts if s.start < until and start < s.end), None)
    if shift is None:
        return {}
    initial = {"shift": _shift_key(shift)}
    zone = ZoneInfo(schedule.time_zone)
    if start > shift.start:
        initial["start"] = start.astimezone(zone).strftime(LOCAL_INPUT_FORMAT)
    if end is not None and start < end < shift.end:
        initial["end"] = end.astimezone(zone).strftime(LOCAL_INPUT_FORMAT)
    return initial


def _moment(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _shift_key(shift: Shift) -> str:
    """A shift as the form's choice: by its layer and end, which stay the same from the page
    to its POST (the start of the shift under way is "now", which does not)."""
    return f"{shift.layer}/{shift.end.isoformat()}"


def _schedule(public_id: UUID) -> Schedule:
    return get_object_or_404(Schedule, public_id=public_id)


@login_required
@require_http_methods(["GET", "POST"])
def swap_list(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """GET: the page; POST: ask for a swap (the form on it)."""
    schedule = _schedule(public_id)
    now = timezone.now()
    shifts = swaps.upcoming_shifts(schedule, request.user, now)
    form = AskSwapForm(
        request.POST if request.method == "POST" else None,
        schedule=schedule,
        shifts=shifts,
        initial=_preselected(request, schedule, shifts),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            swap = swaps.ask(
                schedule,
                request.user,
                data["period_start"],
                data["period_end"],
                data["note"],
                now=now,  # the shifts' now: the one under way starts then
            )
        except swaps.SwapRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("You asked to give away %(period)s: the others of %(schedule)s see it now.")
                % {
                    "period": swaps.period_text(schedule, swap.start, swap.end),
                    "schedule": schedule.name,
                },
            )
            return redirect("schedule-swaps", public_id=schedule.public_id)
    return _page(request, schedule, form, shifts, now, status=400 if form.is_bound else 200)


def _page(
    request: HttpRequest,
    schedule: Schedule,
    form: AskSwapForm,
    shifts: list[Shift],
    now: datetime,
    *,
    status: int,
) -> HttpResponse:
    swaps.expire_passed(now)
    visible = visible_swaps(request.user).filter(schedule=schedule)
    open_requests = list(
        visible.filter(status=ShiftSwap.Status.OPEN)
        .select_related("requester")
        .order_by("start", "id")
    )
    participants = swaps.participant_ids(schedule)
    rows = [
        {
            "swap": swap,
            "period": swaps.period_text(schedule, swap.start, swap.end),
            "may_take": swaps.may_take(swap, request.user, participants),
            "mine": swap.requester_id == request.user.pk,
        }
        for swap in open_requests
    ]
    recent = [
        {"swap": swap, "period": swaps.period_text(schedule, swap.start, swap.end)}
        for swap in visible.exclude(status=ShiftSwap.Status.OPEN)
        .select_related("requester", "taken_by")
        .order_by("-closed_at", "-id")[:RECENT_LIMIT]
    ]
    context = {
        "schedule": schedule,
        "rows": rows,
        "recent": recent,
        "form": form,
        "has_shifts": bool(shifts),
        "participant": request.user.pk in participants,
    }
    return render(request, "oncall/schedule_swaps.html", context, status=status)


@login_required
@require_GET
def hub(request: HttpRequest) -> HttpResponse:
    """``/schedules/swaps/``: across schedules, the requests I may take, my own open ones, and
    my upcoming shifts, each linked to its schedule's swaps page to give it away."""
    now = timezone.now()
    takeable = list(swaps.takeable_by(request.user, now))
    mine = list(
        ShiftSwap.objects.filter(requester=request.user, status=ShiftSwap.Status.OPEN)
        .select_related("schedule", "requester")
        .order_by("start", "id")
    )
    shifts = [
        {
            "schedule": schedule,
            "period": swaps.period_text(schedule, shift.start, shift.end),
            "start": shift.start,
            "end": shift.end,
        }
        for schedule, shift in resolve.shifts_of(request.user, now, now + swaps.ASK_HORIZON)
        if shift.override is None
    ]
    context = {
        "takeable": [_row(swap, may_take=True) for swap in takeable],
        "mine": [_row(swap, mine=True) for swap in mine],
        "shifts": shifts,
    }
    return render(request, "oncall/swap_hub.html", context)


def _row(swap: ShiftSwap, *, may_take: bool = False, mine: bool = False) -> dict[str, Any]:
    period = swaps.period_text(swap.schedule, swap.start, swap.end)
    return {"swap": swap, "period": period, "may_take": may_take, "mine": mine}


def _act(request: HttpRequest, public_id: UUID, swap_id: UUID, act: str) -> HttpResponse:
    schedule = _schedule(public_id)
    swap = get_object_or_404(visible_swaps(request.user), schedule=schedule, public_id=swap_id)
    try:
        if act == "take":
            taken = swaps.take(swap, request.user)
            messages.success(
                request,
                _("You are on call for %(period)s instead of %(person)s.")
                % {
                    "period": swaps.period_text(schedule, taken.override.start, taken.override.end),
                    "person": display_name(taken.swap.requester),
                },
            )
        else:
            swaps.cancel(swap, request.user)
            messages.success(request, _("Your request is cancelled."))
    except swaps.SwapRefused as refused:
        messages.warning(request, refused.message)
    if request.POST.get("back") == "hub":
        return redirect("swap-hub")
    return redirect("schedule-swaps", public_id=schedule.public_id)


@login_required
@require_POST
def take(request: HttpRequest, public_id: UUID, swap_id: UUID) -> HttpResponse:
    return _act(request, public_id, swap_id, "take")


@login_required
@require_POST
def cancel(request: HttpRequest, public_id: UUID, swap_id: UUID) -> HttpResponse:
    return _act(request, public_id, swap_id, "cancel")
