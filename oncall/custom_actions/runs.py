"""One click, one call: running a custom action and recording it once on the timeline.

A click makes a :class:`~oncall.models.CustomActionRun` row; the database allows one run in
flight per action and incident (a partial unique index), so a double click, a request a client
retries, or two people clicking at once make one call: the others are told what the first is
doing or did. A click within ``CUSTOM_ACTION_REPEAT_SECONDS`` of a finished call is taken for
the same double click and calls nothing either.

The call is made by a Celery task (:func:`perform`), never by the process that received the
click: a chat platform waits only ~3 s for a click's answer, and a receiver may take 15. The
clicking process waits up to ``CUSTOM_ACTION_ANSWER_WAIT_MS`` (2 s) for the run to finish and
answers with its result, or else "Roll back is running; its result goes on the timeline".

The timeline gets one entry per run, written with the run's final status in one conditional
update (whoever finishes it first, the task or the sweep, writes it; the other finds nothing
to do): "Roll back called by Alice: 200 in 340 ms", or the error in words. A click no worker
took within ``CUSTOM_ACTION_EXPIRY_SECONDS`` is not called any more (:func:`retire_stale`, run
by a sweep and before every click): the release a responder wanted rolled back a minute ago
may have been fixed since.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from oncall import timeline
from oncall.custom_actions import calls
from oncall.models import CustomAction, CustomActionRun, Incident, TimelineEntry
from oncall.offers import ActionResult
from oncall.timeline import Actor, display_name
from oncall.timeline_messages import Phrase, phrase
from oncall.webhooks import sending
from oncall.webhooks.signing import new_message_id

Status = CustomActionRun.Status
logger = logging.getLogger(__name__)
POLL_SECONDS = 0.05


def start(action: CustomAction, incident: Incident, actor: Actor) -> ActionResult:
    """Run ``action`` on ``incident`` for ``actor`` (whose right to has been checked), once:
    the result, "running", or what the run already under way or just finished did."""
    now = timezone.now()
    retire_stale(now, action_id=action.pk, incident_id=incident.pk)
    earlier = _latest_repeatable(action, incident, now)
    if earlier is not None:
        return _already(action, earlier)
    try:
        with transaction.atomic():
            run = CustomActionRun.objects.create(
                action=action,
                incident=incident,
                actor=actor.user,
                source=str(actor.source),
                via=actor.via,
                message_id=new_message_id(),
                created_at=now,
            )
            transaction.on_commit(lambda: _enqueue(run.pk))
    except IntegrityError:  # another click of the same moment holds the run in flight
        earlier = _latest_repeatable(action, incident, timezone.now())
        if earlier is None:
            raise
        return _already(action, earlier)
    return result_of(_waited(run), action)


def _enqueue(run_id: int) -> None:
    """Hand the run to a worker. With the broker unreachable the run is finished at once as
    not called, with the reason, rather than left for the sweep to find a minute later."""
    from oncall.custom_actions.tasks import call_action

    try:
        call_action.delay(run_id)
    except Exception:  # the broker's errors are many (kombu, redis, OSError): each means "down"
        logger.exception("custom action run %s could not be handed to a worker", run_id)
        run = CustomActionRun.objects.select_related("action", "incident", "actor").get(pk=run_id)
        _finish(run, Status.PENDING, Status.NOT_CALLED, error="the task queue could not be reached")


def _latest_repeatable(
    action: CustomAction, incident: Incident, now: datetime
) -> CustomActionRun | None:
    """The run in flight of this action and incident, or one that finished so recently that
    a new click is the same click again."""
    recent = now - timedelta(seconds=settings.CUSTOM_ACTION_REPEAT_SECONDS)
    return (
        CustomActionRun.objects.filter(action=action, incident=incident)
        .filter(Q(status__in=CustomActionRun.IN_FLIGHT) | Q(finished_at__gte=recent))
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )


def _waited(run: CustomActionRun) -> CustomActionRun:
    """The run once finished, or as it is after the answer's budget. Inside a caller's
    transaction the task has not even been sent yet (it goes on commit): no use waiting."""
    if connection.in_atomic_block:
        return run
    deadline = time.monotonic() + settings.CUSTOM_ACTION_ANSWER_WAIT_MS / 1000
    while True:
        current = CustomActionRun.objects.get(pk=run.pk)
        if not current.in_flight or time.monotonic() >= deadline:
            return current
        time.sleep(POLL_SECONDS)


# --- What the clicker is told ---------------------------------------------------------------


def result_of(run: CustomActionRun, action: CustomAction) -> ActionResult:
    words = {"action": action.name, "result": _describe(run), "reason": run.error}
    if run.in_flight:
        return ActionResult(
            True, _("%(action)s is running; its result goes on the timeline.") % words
        )
    if run.status == Status.SUCCEEDED:
        return ActionResult(True, _("%(action)s: %(result)s.") % words)
    if run.status == Status.NOT_CALLED:
        return ActionResult(False, _("%(action)s was not called: %(reason)s.") % words)
    return ActionResult(False, _("%(action)s failed: %(result)s.") % words)


def _already(action: CustomAction, earlier: CustomActionRun) -> ActionResult:
    words = {"action": action.name, "name": _who(earlier), "result": _describe(earlier)}
    if earlier.in_flight:
        message = _(
            "%(action)s is already running (started by %(name)s); its result goes on the timeline."
        )
    else:
        message = _("%(action)s was just called by %(name)s (%(result)s); it was not called again.")
    return ActionResult(True, message % words)


def _describe(run: CustomActionRun) -> str:
    return calls.Answer(run.status_code, run.duration_ms or 0, run.error).describe()


def _who(run: CustomActionRun) -> str:
    return display_name(run.actor) if run.actor_id else (run.via.get("name") or run.source)


# --- The call (in a worker) -------------------------------------------------------------------


def perform(run_id: int, now: datetime | None = None) -> None:
    """Make the run's call, once: the run is taken from pending in one conditional update
    (a second copy of the task finds it taken), within its expiry."""
    now = now or timezone.now()
    expiry = timedelta(seconds=settings.CUSTOM_ACTION_EXPIRY_SECONDS)
    taken = CustomActionRun.objects.filter(
        pk=run_id, status=Status.PENDING, created_at__gte=now - expiry
    ).update(status=Status.CALLING, called_at=now)
    if not taken:
        retire_stale(now, pk=run_id)
        return
    run = CustomActionRun.objects.select_related("action", "incident__channel", "actor").get(
        pk=run_id
    )
    try:
        body = calls.request_body(run.action, run.incident, run.actor, run.message_id, now)
    except calls.NotCalled as reason:
        _finish(run, Status.CALLING, Status.NOT_CALLED, error=str(reason))
        return
    answer = calls.call(run.action, body, run.message_id, now)
    _finish(
        run,
        Status.CALLING,
        Status.SUCCEEDED if answer.ok else Status.FAILED,
        answer=answer,
    )


def retire_stale(now: datetime | None = None, **scope: Any) -> int:
    """Finish the runs in flight for too long, each once on the timeline: a click no worker
    took within the expiry is not called; a call unfinished twice its budget after it began
    lost its worker (its result is unknown). Returns how many were retired."""
    now = now or timezone.now()
    expiry = timedelta(seconds=settings.CUSTOM_ACTION_EXPIRY_SECONDS)
    lost_after = timedelta(seconds=2 * sending.TOTAL_TIMEOUT)
    stale = CustomActionRun.objects.filter(**scope).filter(
        Q(status=Status.PENDING, created_at__lt=now - expiry)
        | Q(status=Status.CALLING, called_at__lt=now - lost_after)
    )
    retired = 0
    for run in stale.select_related("action", "incident", "actor"):
        if run.status == Status.PENDING:
            error = f"no worker took it within {expiry.seconds} s"
            retired += _finish(run, Status.PENDING, Status.NOT_CALLED, error=error)
        else:
            error = "its result is unknown: the worker stopped during the call"
            retired += _finish(run, Status.CALLING, Status.LOST, error=error)
    return retired


def _finish(
    run: CustomActionRun,
    expected: str,
    status: str,
    *,
    answer: calls.Answer | None = None,
    error: str = "",
) -> bool:
    """Give the run its final status and its one timeline entry, if it is still ``expected``."""
    values: dict[str, Any] = {"status": status, "finished_at": timezone.now(), "error": error}
    if answer is not None:
        values.update(
            status_code=answer.status_code,
            duration_ms=answer.duration_ms,
            error=answer.error,
            answer=answer.text,
        )
    with transaction.atomic():
        if not CustomActionRun.objects.filter(pk=run.pk, status=expected).update(**values):
            return False
        for name, value in values.items():
            setattr(run, name, value)
        timeline.record(
            run.incident,
            TimelineEntry.Kind.ACTION_CALLED,
            Actor(run.actor, run.source, dict(run.via)),
            timeline_message(run),
            data=_entry_data(run),
        )
    return True


def timeline_message(run: CustomActionRun) -> Phrase:
    """ "Roll back called by Alice: 200 in 340 ms", or what went wrong (the error as the call
    recorded it)."""
    said = {"action": run.action.name, "actor": _who(run)}
    if run.status == Status.NOT_CALLED:
        return phrase("action.not_called", **said, error=run.error)
    if run.status == Status.LOST:
        return phrase("action.lost", **said, error=run.error)
    if run.status_code is None:
        return phrase("action.failed", **said, error=run.error)
    return phrase("action.answered", **said, answer=_describe(run))


def _entry_data(run: CustomActionRun) -> dict[str, Any]:
    return {
        "action": str(run.action.public_id),
        "run": run.pk,
        "webhook_id": run.message_id,
        "status": run.status,
        "status_code": run.status_code,
        "duration_ms": run.duration_ms,
    }
