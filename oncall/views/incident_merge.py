"""Merging incidents and splitting an alert out, from the incident page.

``GET /incidents/<id>/merge/`` offers both directions: choose open incidents of the channel to
merge into this one (``POST`` the same URL), or give the number of the incident to merge this
one into (``POST .../merge-into/``). ``POST /alerts/<id>/split/`` moves one alert into a new
incident and shows it. Everything goes through ``lifecycle.merge`` and ``lifecycle.split``,
which check the channel membership and the states; their refusals come back as messages.
Incidents and alerts outside the person's channels are 404, as on every page.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from oncall import lifecycle
from oncall.forms import MergeForm, MergeIntoForm
from oncall.models import ActionSource, Alert, Incident
from oncall.permissions import visible_channels, visible_incidents
from oncall.timeline import Actor

# The page lists this many open incidents of the channel, newest first; any other one can be
# named by number ("merge this into #N") or through the API.
MERGE_CANDIDATES = 50


def _actor(request: HttpRequest) -> Actor:
    return Actor(request.user, ActionSource.WEB)


def _visible_incident(request: HttpRequest, public_id: UUID) -> Incident:
    incidents = visible_incidents(request.user).select_related("channel", "merged_into")
    return get_object_or_404(incidents, public_id=public_id)


def _candidates(incident: Incident) -> list[tuple[str, str]]:
    """Open incidents of the incident's channel, other than itself, as form choices."""
    rows = (
        Incident.objects.filter(channel_id=incident.channel_id)
        .exclude(status=Incident.Status.CLOSED)
        .exclude(pk=incident.pk)
        .order_by("-created_at", "-pk")
        .values_list("public_id", "number", "title", "alert_count")[:MERGE_CANDIDATES]
    )
    return [
        (str(public_id), _label(number, title, alerts)) for public_id, number, title, alerts in rows
    ]


def _label(number: int, title: str, alerts: int) -> str:
    text = ngettext(
        "#%(number)s %(title)s (%(alerts)s alert)",
        "#%(number)s %(title)s (%(alerts)s alerts)",
        alerts,
    )
    return text % {
        "number": number,
        "title": title,
        "alerts": alerts,
    }


@login_required
@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """GET: the merge page. POST: merge the chosen incidents into this one."""
    incident = _visible_incident(request, public_id)
    candidates = _candidates(incident) if incident.is_open else []
    form = MergeForm(request.POST if request.method == "POST" else None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        chosen = [UUID(value) for value in form.cleaned_data["incidents"]]
        return _act(
            request,
            incident,
            lambda: lifecycle.merge(incident, chosen, _actor(request)),
            lambda outcome: _merged_message(outcome.incident, chosen),
        )
    return _page(request, incident, form, MergeIntoForm(), status=400 if form.is_bound else 200)


@login_required
@require_POST
def merge_into(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Merge this incident into the one whose number the form names."""
    incident = _visible_incident(request, public_id)
    form = MergeIntoForm(request.POST)
    target = None
    if form.is_valid():
        number = form.cleaned_data["number"]
        target = visible_incidents(request.user).filter(number=number).first()
        if target is None:
            form.add_error(
                "number", _("No incident #%(number)s that you can see.") % {"number": number}
            )
    if target is None:
        candidates = _candidates(incident) if incident.is_open else []
        return _page(request, incident, MergeForm(candidates=candidates), form, status=400)
    return _act(
        request,
        target,
        lambda: lifecycle.merge(target, [incident], _actor(request)),
        lambda outcome: _merged_message(target, [incident.public_id]),
        back_to=incident,
    )


@login_required
@require_POST
def split(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Split the alert out into a new incident, and show that incident."""
    alerts = Alert.objects.filter(channel__in=visible_channels(request.user).values("pk"))
    alert = get_object_or_404(alerts.select_related("incident"), public_id=public_id)
    return _act(
        request,
        alert.incident,
        lambda: lifecycle.split(alert, _actor(request)),
        lambda outcome: _(
            "The alert is in this new incident now; it escalates like any new incident."
        ),
    )


def _merged_message(target: Incident, merged: list[UUID]) -> str:
    numbers = Incident.objects.filter(merged_into=target, public_id__in=merged).order_by("number")
    return _("Merged %(incidents)s into #%(number)s: the alerts are in this incident now.") % {
        "incidents": ", ".join(f"#{number}" for number in numbers.values_list("number", flat=True)),
        "number": target.number,
    }


def _act(
    request: HttpRequest,
    incident: Incident,
    call: Callable[[], lifecycle.Outcome],
    done: Callable[[lifecycle.Outcome], str],
    *,
    back_to: Incident | None = None,
) -> HttpResponse:
    """Run the change and show its outcome: on the incident it leaves the person with (the
    target of a merge, the new incident of a split), or, when refused, where they came from."""
    try:
        outcome = call()
    except (PermissionDenied, Incident.DoesNotExist, Alert.DoesNotExist):
        # Lost membership, or gone, between loading the page and acting: as if it did not exist.
        raise Http404 from None
    except lifecycle.LifecycleError as refused:
        messages.warning(request, refused.message)
        return redirect("incident-detail", public_id=(back_to or incident).public_id)
    if outcome.changed:
        messages.success(request, done(outcome))
    else:
        messages.info(request, outcome.message)
    return redirect("incident-detail", public_id=outcome.incident.public_id)


def _page(
    request: HttpRequest,
    incident: Incident,
    form: MergeForm,
    into_form: MergeIntoForm,
    *,
    status: int,
) -> HttpResponse:
    context = {"incident": incident, "form": form, "into_form": into_form}
    return render(request, "oncall/incident_merge.html", context, status=status)
