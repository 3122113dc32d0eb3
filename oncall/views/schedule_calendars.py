"""Calendar feeds: the feed itself (``/calendars/<token>.ics``, for calendar apps, no
sign-in: the secret URL is the key) and the pages where people get and rotate the URLs:
``/account/calendar/`` for their own shifts, ``/schedules/<id>/calendar/`` for a schedule's.

The pages show a secret, so they are never cached; rotating is a POST (CSRF) and the old URL
stops working at once. Any URL the console does not know (never was, rotated away, a
deactivated person's) is the same plain 404, saying nothing about why.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import quote_etag
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from oncall.models import Schedule
from oncall.permissions import may_rotate_schedule_calendar, may_see_schedule_calendar
from oncall.schedules import calendars

ROTATED = gettext_lazy("The old calendar URL no longer works: subscribe again with the new one.")


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    found = calendars.by_token(token)
    if found is None:
        return HttpResponseNotFound("Not found.", content_type="text/plain; charset=utf-8")
    content = calendars.feed_for(found)
    etag = content.etag
    if etag in _etags(request.headers.get("If-None-Match", "")):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(_body(content), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="on-call.ics"'
    response["ETag"] = etag
    # A client polls every hour or so; an answer may be reused for a quarter of an hour, but
    # only by the client itself (the URL is a secret: no shared cache should keep it).
    patch_cache_control(response, private=True, max_age=calendars.CACHE_SECONDS)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _body(content: calendars.Feed) -> bytes:
    """The iCalendar text, kept by its ETag for a while: a team subscribing to one schedule
    polls the same feed, and writing it out costs more than working out its shifts."""
    key = f"calendar-feed:{content.etag.strip(chr(34))}"
    return cache.get_or_set(key, lambda: calendars.to_ical(content), calendars.CACHE_SECONDS)


def _etags(header: str) -> set[str]:
    return {quote_etag(part.strip().removeprefix("W/")) for part in header.split(",") if part}


# --- My calendar ---------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def account_calendar(request: HttpRequest) -> HttpResponse:
    feed_row = calendars.feed_of_person(request.user)
    return render(request, "oncall/account_calendar.html", {"feed": feed_row})


@never_cache
@login_required
@require_POST
def account_calendar_rotate(request: HttpRequest) -> HttpResponse:
    calendars.rotate(calendars.feed_of_person(request.user))
    messages.success(request, ROTATED)
    return redirect("account-calendar")


# --- A schedule's calendar -----------------------------------------------------------------------


def _schedule(request: HttpRequest, public_id: UUID) -> Schedule:
    if not may_see_schedule_calendar(request.user):
        raise Http404
    return get_object_or_404(Schedule, public_id=public_id)


@never_cache
@login_required
@require_GET
def schedule_calendar(request: HttpRequest, public_id: UUID) -> HttpResponse:
    schedule = _schedule(request, public_id)
    context = {
        "schedule": schedule,
        "feed": calendars.feed_of_schedule(schedule),
        "may_rotate": may_rotate_schedule_calendar(request.user),
        "now": timezone.now(),
    }
    return render(request, "oncall/schedule_calendar.html", context)


@never_cache
@login_required
@require_POST
def schedule_calendar_rotate(request: HttpRequest, public_id: UUID) -> HttpResponse:
    schedule = _schedule(request, public_id)
    if not may_rotate_schedule_calendar(request.user):
        raise PermissionDenied(_("Only staff who may change schedules may rotate their URLs."))
    calendars.rotate(calendars.feed_of_schedule(schedule))
    messages.success(request, ROTATED)
    return redirect("schedule-calendar", public_id=schedule.public_id)
