"""The insights page (``/insights/``): a channel's or all of the viewer's channels' figures for
a period, as SVG charts with tables beside them, and each table as a CSV file
(``/insights/export/<table>.csv``, the same filters)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from oncall.insights import charts
from oncall.insights.export import TABLES, csv_text
from oncall.insights.figures import compute
from oncall.insights.query import InsightsFilterForm, default_target_minutes

# A label under every n-th day's column, so that they do not overlap.
DAY_LABELS = 12


def _form(request: HttpRequest) -> InsightsFilterForm:
    return InsightsFilterForm(
        request.GET, request.user, timezone.now(), timezone.get_current_timezone()
    )


@login_required
@require_GET
def insights(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context: dict[str, Any] = {"form": form, "default_target": default_target_minutes()}
    if not form.is_valid():
        # The figures of a period other than the one asked for would mislead: none at all.
        return render(request, "oncall/insights.html", context, status=400)
    figures = compute(form.scope(request.user))
    query = request.GET.urlencode()
    context.update(
        figures=figures,
        channel=form.cleaned_data.get("channel"),
        charts=_charts(figures),
        weekdays=_weekday_rows(figures),
        exports={table: f"{reverse('insights-export', args=[table])}?{query}" for table in TABLES},
    )
    response = render(request, "oncall/insights.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export(request: HttpRequest, table: str) -> HttpResponse:
    if table not in TABLES:
        raise Http404
    form = _form(request)
    if not form.is_valid():
        reasons = "; ".join(
            f"{name}: {error}" for name, errors in form.errors.items() for error in errors
        )
        return HttpResponse(
            _("Not exported: %(reasons)s") % {"reasons": reasons},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    figures = compute(form.scope(request.user))
    period = figures["period"]
    name = f"insights-{table}-{period['first_day']}-{period['last_day']}.csv"
    response = HttpResponse(csv_text(figures, table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def _weekday_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"label": WEEKDAYS_ABBR[row["weekday"] - 1], **row} for row in figures["by_weekday"]]


def _charts(figures: dict[str, Any]) -> dict[str, Any]:
    days = figures["by_day"]
    weekdays = _weekday_rows(figures)
    night = figures["night"]
    return {
        "by_day": charts.column_chart(
            [date.fromisoformat(row["date"]).strftime("%m-%d") for row in days],
            [row["incidents"] for row in days],
            every=max(1, -(-len(days) // DAY_LABELS)),
        ),
        "by_hour": charts.column_chart(
            [f"{row['hour']:02d}" for row in figures["by_hour"]],
            [row["incidents"] for row in figures["by_hour"]],
            every=3,
        ),
        "by_weekday": charts.column_chart(
            [str(row["label"]) for row in weekdays], [row["incidents"] for row in weekdays]
        ),
        "top_alerts": charts.bar_chart(
            [row["title"] or row["alert_key"] for row in figures["top_alerts"]],
            [[(row["alerts"], "alerts")] for row in figures["top_alerts"]],
        ),
        "top_sources": charts.bar_chart(
            [
                row["source"]["name"] if row["source"] else _("No source")
                for row in figures["top_sources"]
            ],
            [[(row["alerts"], "alerts")] for row in figures["top_sources"]],
        ),
        "responders": charts.bar_chart(
            [
                label
                for row in figures["responders"]
                for label in (
                    _("%(name)s: notifications") % {"name": row["user"]["name"]},
                    _("%(name)s: claims") % {"name": row["user"]["name"]},
                )
            ],
            [
                series
                for row in figures["responders"]
                for series in (
                    [
                        (row["notifications"] - row["night_notifications"], "day"),
                        (row["night_notifications"], "night"),
                    ],
                    [(row["claims"] - row["night_claims"], "day"), (row["night_claims"], "night")],
                )
            ],
            legend=[
                ("day", _("Daytime")),
                (
                    "night",
                    _("Night (%(start)02d:00 to %(end)02d:00)")
                    % {"start": night["start_hour"], "end": night["end_hour"]},
                ),
            ],
        ),
    }
