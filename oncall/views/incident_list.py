"""The incident list (``/incidents/``): filters, search, urgency order, counts per status, and
a live refresh that fetches the same URL with ``X-Live-Refresh`` to get the results alone.

The first page costs the same number of queries however many incidents there are (a test
holds it to that): the session, the user, the channels for the filter, the counts, the total
and the page's rows.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from oncall.incident_list import STATE_CHOICES, IncidentFilterForm, incident_list, incident_row

PAGE_SIZE = 50
LIVE_HEADER = "X-Live-Refresh"


@login_required
@require_GET
def incident_index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    form = IncidentFilterForm(request.GET, request.user)
    listed = incident_list(form, now)
    page = Paginator(listed.incidents, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": [incident_row(incident, now) for incident in page.object_list],
        "tabs": _tabs(request, listed.state, listed.counts),
        "state": listed.state,
        "refresh_seconds": settings.INCIDENT_LIST_REFRESH_SECONDS,
        "page_links": _page_links(request, page),
        "active_filters": _active_filter_count(form),
        "rendered_at": now,
        "shows_everything_new": _shows_everything_new(form, listed.state, page),
    }
    if request.headers.get(LIVE_HEADER):
        response = render(request, "oncall/_incident_results.html", context)
    else:
        response = render(request, "oncall/incident_list.html", context)
    # The same URL answers with or without the header: caches must keep both apart.
    patch_vary_headers(response, [LIVE_HEADER])
    response["Cache-Control"] = "no-store"
    return response


def _tabs(request: HttpRequest, current: str, counts: dict[str, int]) -> list[dict]:
    """One link per status, keeping the other filters; each shows its count."""
    return [
        {
            "value": value,
            "label": label,
            "count": counts[value],
            "url": _this_page_with(request, state=value, page=None),
            "current": value == current,
        }
        for value, label in STATE_CHOICES
    ]


def _page_links(request: HttpRequest, page: Page) -> dict[str, str]:
    links = {}
    if page.has_previous():
        links["previous"] = _this_page_with(request, page=str(page.previous_page_number()))
    if page.has_next():
        links["next"] = _this_page_with(request, page=str(page.next_page_number()))
    return links


def _this_page_with(request: HttpRequest, **changes: str | None) -> str:
    """This page's query string with ``changes`` made (None leaves a parameter out)."""
    query = request.GET.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return f"?{query.urlencode()}"


def _shows_everything_new(form: IncidentFilterForm, state: str, page: Page) -> bool:
    """The list as it opens (open incidents, unfiltered, first page) holds every incident that
    arrived lately: having seen it counts as having looked, which the "new" marks remember.
    A closed tab or a filter seen since does not hide what arrived elsewhere."""
    return state == "open" and not _active_filter_count(form) and page.number == 1


def _active_filter_count(form: IncidentFilterForm) -> int:
    """How many filters narrow the list (the order and the status tab do not): shown on the
    button that folds the filters away on a phone."""
    names = ("channel", "severity", "period", "mine", "assigned", "q")
    return sum(1 for name in names if form.value(name))
