"""Acting on an incident from its page: ``POST /incidents/<id>/<action>/``.

Every action goes through the lifecycle service with a web actor, so the rules are the cards'
and the API's: a state the incident already has says so, an impossible one says why (naming
who got there first), and the page comes back with the outcome as a message (post, redirect,
get: a reload never repeats the action). Closing and assigning ask first: ``GET .../close/``
and ``GET .../assign/`` are the questions, their forms the answers. Incidents outside the
person's channels are 404, as on every page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from oncall import lifecycle
from oncall.durations import SNOOZE_PRESETS
from oncall.forms import AssignForm, CloseForm, SnoozeForm
from oncall.models import ActionSource, Incident
from oncall.permissions import visible_incidents
from oncall.timeline import Actor
from oncall.views.incidents import render_detail
from oncall.wording import DONE


def _visible_incident(request: HttpRequest, public_id: UUID) -> Incident:
    incidents = visible_incidents(request.user).select_related("channel")
    return get_object_or_404(incidents, public_id=public_id)


def _actor(request: HttpRequest) -> Actor:
    return Actor(request.user, ActionSource.WEB)


def _act(
    request: HttpRequest, incident: Incident, name: str, call: Callable[[], lifecycle.Outcome]
) -> HttpResponse:
    try:
        outcome = call()
    except PermissionDenied:
        # Lost membership between loading the page and acting: as if it did not exist.
        raise Http404 from None
    except lifecycle.TransitionRefused as refused:
        messages.warning(request, refused.message)
    except lifecycle.InvalidRequest as invalid:
        messages.error(request, invalid.message)
    else:
        if outcome.changed and name == "assign":
            # Whom it notified, and who could not be reached, matters to the person assigning.
            say = messages.warning if outcome.unreachable else messages.success
            say(request, f"{DONE[name]} {outcome.message}")
        elif outcome.changed:
            messages.success(request, DONE[name])
        else:
            messages.info(request, outcome.message)
    return redirect("incident-detail", public_id=incident.public_id)


def _simple_action(name: str) -> Callable:
    call = lifecycle.BY_NAME[name]

    @login_required
    @require_POST
    def view(request: HttpRequest, public_id: UUID) -> HttpResponse:
        incident = _visible_incident(request, public_id)
        return _act(request, incident, name, lambda: call(incident, _actor(request)))

    view.__name__ = view.__qualname__ = name
    return view


claim = _simple_action("claim")
unclaim = _simple_action("unclaim")
reopen = _simple_action("reopen")
wake = _simple_action("wake")


@login_required
@require_POST
def snooze(request: HttpRequest, public_id: UUID) -> HttpResponse:
    incident = _visible_incident(request, public_id)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return render_detail(request, public_id, snooze_form=form, status=400)
    duration = timedelta(minutes=SNOOZE_PRESETS[form.cleaned_data["duration"]])
    return _act(
        request,
        incident,
        "snooze",
        lambda: lifecycle.snooze(incident, _actor(request), duration),
    )


@login_required
@require_http_methods(["GET", "POST"])
def close(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """GET asks "Close incident #N?"; its form's POST closes, with an optional note."""
    incident = _visible_incident(request, public_id)
    form = CloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        note = form.cleaned_data["note"]
        return _act(
            request,
            incident,
            "close",
            lambda: lifecycle.close(incident, _actor(request), reason=note),
        )
    status = 400 if form.is_bound else 200
    return render(
        request, "oncall/incident_close.html", {"incident": incident, "form": form}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def assign(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """GET asks "Assign incident #N to whom?" (a member of its channel, or a level of one of its
    escalation rules: ``AssignForm``); its form's POST hands it over, and the outcome says whom
    that notified. A page of its own, like closing: the choices cost queries the incident page
    does without."""
    incident = _visible_incident(request, public_id)
    form = AssignForm(request.POST if request.method == "POST" else None, incident)
    if request.method == "POST" and form.is_valid():
        choice = form.cleaned_data["choice"]
        return _act(request, incident, "assign", lambda: choice.assign(incident, _actor(request)))
    status = 400 if form.is_bound else 200
    return render(
        request, "oncall/incident_assign.html", {"incident": incident, "form": form}, status=status
    )
