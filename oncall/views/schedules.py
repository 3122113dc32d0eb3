"""On-call schedules for responders (``/schedules/``): every schedule with who is on call now
and next, and (``/schedules/<id>/``) one schedule's next two weeks drawn as a timeline, with
``?from=YYYY-MM-DD`` to page through weeks. Read-only: configuration is in the admin.

Every signed-in person sees every schedule (``oncall.permissions.visible_schedules``):
rosters are shared across teams, and whom to call is what people look them up for.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from oncall.permissions import visible_schedules
from oncall.schedules import display, resolve

# How far ``?from=`` may page from today, either way: the arithmetic has no limit, but a
# date years away is a typo, and far ones would overflow.
FROM_LIMIT = timedelta(days=3660)
PAGE_STEP = timedelta(days=7)


@login_required
@require_GET
def schedule_index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    found = display.now_and_next_of_all(visible_schedules(request.user).order_by("name"), now)
    rows = [{"schedule": schedule, "on_call": on_call} for schedule, on_call in found]
    return render(request, "oncall/schedule_list.html", {"rows": rows})


@login_required
@require_GET
def schedule_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    schedule = get_object_or_404(visible_schedules(request.user), public_id=public_id)
    now = timezone.now()
    today = display.today_in(schedule, now)
    first_day, error = _first_day(request.GET.get("from"), today)
    start, end = display.period(schedule, first_day)
    loaded = resolve.load(
        schedule,
        min(start, now - timedelta(days=1)),
        max(end, now + resolve.NEXT_HORIZON),
    )
    context = {
        "schedule": loaded,
        "on_call": display.now_and_next(loaded, now),
        "drawing": display.drawing(loaded, first_day, now),
        "error": error,
        "now": now,
        "today": today,
        "previous_day": first_day - PAGE_STEP,
        "next_day": first_day + PAGE_STEP,
        "is_today": first_day == today,
        "last_day": first_day + timedelta(days=display.WINDOW_DAYS - 1),
    }
    return render(request, "oncall/schedule_detail.html", context, status=400 if error else 200)


def _first_day(given: str | None, today: date) -> tuple[date, str]:
    """The first day ``?from=`` asks for, or today with the reason it was not taken."""
    if not given:
        return today, ""
    try:
        day = date.fromisoformat(given)
    except ValueError:
        return today, _("“%(value)s” is not a date: use YYYY-MM-DD, e.g. %(today)s.") % {
            "value": given[:20],
            "today": today.isoformat(),
        }
    if abs(day - today) > FROM_LIMIT:
        return today, _("Choose a day within ten years of today.")
    return day, ""
