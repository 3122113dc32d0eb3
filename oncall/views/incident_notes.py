"""Notes from the incident page: ``POST /incidents/<id>/notes/`` adds one;
``/incidents/<id>/notes/<note id>/edit/`` edits (GET: the form, POST: save) and
``.../delete/`` deletes the author's own note within ``NOTE_EDIT_WINDOW_MINUTES``.

Everything goes through the lifecycle service with a web actor, as every other surface does;
the page comes back with the outcome as a message (post, redirect, get). An incident or a note
outside the person's channels is 404, as on every page; someone else's note, or one past the
window, is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from oncall import lifecycle
from oncall.forms import NoteForm
from oncall.models import ActionSource, IncidentNote
from oncall.permissions import visible_incidents
from oncall.timeline import Actor
from oncall.views.incidents import render_detail


@login_required
@require_POST
def add(request: HttpRequest, public_id: UUID) -> HttpResponse:
    incident = get_object_or_404(visible_incidents(request.user), public_id=public_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return render_detail(request, public_id, note_form=form, status=400)
    body = form.cleaned_data["body"]
    return _note_action(
        request,
        public_id,
        lambda: lifecycle.add_note(incident, _actor(request), body),
        done=_("Note added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, public_id: UUID, note_id: UUID) -> HttpResponse:
    note = _visible_note(request, public_id, note_id)
    if request.method == "GET":
        # Someone else's note, or too late: say so rather than offer a form that would fail.
        try:
            lifecycle.check_may_change_note(note.incident, note, _actor(request), timezone.now())
        except PermissionDenied:
            raise Http404 from None
        except lifecycle.LifecycleError as refused:
            messages.warning(request, refused.message)
            return redirect("incident-detail", public_id=public_id)
    form = NoteForm(request.POST if request.method == "POST" else None, initial={"body": note.body})
    if request.method == "POST" and form.is_valid():
        body = form.cleaned_data["body"]
        return _note_action(
            request,
            public_id,
            lambda: lifecycle.edit_note(note, _actor(request), body),
            done=_("Note saved."),
        )
    context = {"incident": note.incident, "note": note, "form": form}
    status = 400 if form.is_bound else 200
    return render(request, "oncall/incident_note_edit.html", context, status=status)


@login_required
@require_POST
def delete(request: HttpRequest, public_id: UUID, note_id: UUID) -> HttpResponse:
    note = _visible_note(request, public_id, note_id)
    return _note_action(
        request,
        public_id,
        lambda: lifecycle.delete_note(note, _actor(request)),
        done=_("Note deleted."),
    )


def _visible_note(request: HttpRequest, public_id: UUID, note_id: UUID) -> IncidentNote:
    incidents = visible_incidents(request.user).values("pk")
    notes = IncidentNote.objects.select_related("incident__channel", "author")
    return get_object_or_404(
        notes, public_id=note_id, incident__public_id=public_id, incident__in=incidents
    )


def _actor(request: HttpRequest) -> Actor:
    return Actor(request.user, ActionSource.WEB)


def _note_action(
    request: HttpRequest,
    public_id: UUID,
    call: Callable[[], lifecycle.NoteOutcome],
    *,
    done: str,
) -> HttpResponse:
    try:
        outcome = call()
    except PermissionDenied:
        # Lost membership between loading the page and acting: as if it did not exist.
        raise Http404 from None
    except IncidentNote.DoesNotExist:
        messages.warning(request, _("This note was deleted."))
        return redirect("incident-detail", public_id=public_id)
    except lifecycle.LifecycleError as refused:  # not yours, too late, empty or too long
        messages.warning(request, refused.message)
        return redirect("incident-detail", public_id=public_id)
    if outcome.changed:
        messages.success(request, done)
    else:
        messages.info(request, outcome.message)
    url = reverse("incident-detail", kwargs={"public_id": public_id})
    return redirect(f"{url}#note-{outcome.note.public_id}" if outcome.note else url)
