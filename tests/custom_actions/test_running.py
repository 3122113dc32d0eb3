"""Running a custom action: from the incident page and the API through ``offers.run_action``,
signed so that a ``standardwebhooks`` receiver verifies it, once per click, its result (or its
failure, in words) recorded once on the timeline."""

from __future__ import annotations

import json
import socket

import pytest
from django.contrib.messages import get_messages
from rest_framework.test import APIClient

from oncall import offers
from oncall.custom_actions import runs
from oncall.models import ActionSource, CustomActionRun, Incident, TimelineEntry
from oncall.timeline import Actor
from tests.custom_actions.conftest import make_action
from tests.factories import AlertFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def incident(channel) -> Incident:
    incident = IncidentFactory(channel=channel, title="Checkout 5xx")
    AlertFactory(incident=incident, channel=channel, labels={"service": "checkout"})
    return incident


def called(incident: Incident) -> list[str]:
    entries = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.ACTION_CALLED)
    return list(entries.values_list("message", flat=True))


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_page_runs_it_once_signed_and_records_it_once(signed_in, incident, channel, receiver):
    action = make_action(channel, receiver)
    response = signed_in.post(f"/incidents/{incident.public_id}/actions/{action.key}/")

    assert response.status_code == 302
    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    assert call.verified
    assert call.method == "POST"
    assert call.path == "/hooks/rollback?team=sre"
    event = json.loads(call.body)
    assert event["event_type"] == "i_custom"
    assert event["event_id"] == call.headers["webhook-id"]
    assert event["person"]["person_name"] == "Alice"
    assert event["incident"]["title"] == "Checkout 5xx"
    assert event["incident"]["labels"] == {"service": "checkout"}
    [entry] = called(incident)
    assert entry.startswith("Roll back called by Alice: 200 in ")
    assert entry.endswith(" ms")
    assert said(response)[0].startswith("Roll back: 200 in ")


def test_the_api_runs_it_and_answers_with_the_result(responder, incident, channel, receiver):
    action = make_action(channel, receiver)
    api = APIClient()
    api.force_authenticate(responder)

    response = api.post(f"/api/v1/incidents/{incident.public_id}/actions/{action.key}/")

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["message"].startswith("Roll back: 200 in ")
    assert [call.verified for call in receiver.calls] == [True]
    assert len(called(incident)) == 1
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineEntry.Kind.ACTION_CALLED)
    assert (entry.source, entry.actor) == (ActionSource.API, responder)
    assert entry.data["status_code"] == 200


def test_the_api_lists_the_action_with_its_look(responder, incident, channel, receiver):
    action = make_action(channel, receiver, icon="⏪", colour="#d83931", style="danger")
    action.confirm = True
    action.save()
    api = APIClient()
    api.force_authenticate(responder)

    [offered] = api.get(f"/api/v1/incidents/{incident.public_id}/").json()["actions"]

    assert offered["key"] == action.key
    assert (offered["icon"], offered["colour"], offered["style"]) == ("⏪", "#d83931", "danger")
    assert offered["confirm"] == f"Run “Roll back” on #{incident.number}?"


def test_a_double_click_calls_once(responder, incident, channel, receiver):
    action = make_action(channel, receiver)
    actor = Actor(responder, ActionSource.WEB)

    first = offers.run_action(incident, action.key, actor)
    second = offers.run_action(incident, action.key, actor)

    assert len(receiver.calls) == 1
    assert first.message.startswith("Roll back: 200")
    assert second.ok
    assert second.message.startswith("Roll back was just called by Alice (200 in ")
    assert second.message.endswith("it was not called again.")
    assert len(called(incident)) == 1


def test_a_click_while_a_call_is_in_flight_calls_nothing(responder, incident, channel, receiver):
    action = make_action(channel, receiver)
    CustomActionRun.objects.create(
        action=action, incident=incident, actor=responder, source="web", message_id="msg_1"
    )
    bob = UserFactory(username="bob", first_name="Bob")
    channel.members.add(bob)

    result = offers.run_action(incident, action.key, Actor(bob, ActionSource.API))

    assert result.message == (
        "Roll back is already running (started by Alice); its result goes on the timeline."
    )
    assert receiver.calls == []


def test_a_later_click_calls_again(settings, responder, incident, channel, receiver):
    settings.CUSTOM_ACTION_REPEAT_SECONDS = 0
    action = make_action(channel, receiver)
    actor = Actor(responder, ActionSource.WEB)

    offers.run_action(incident, action.key, actor)
    offers.run_action(incident, action.key, actor)

    assert len(receiver.calls) == 2
    assert len({call.headers["webhook-id"] for call in receiver.calls}) == 2
    assert len(called(incident)) == 2


def test_a_non_member_cannot_run_it(outsider, incident, channel, receiver):
    action = make_action(channel, receiver)

    with pytest.raises(offers.PermissionDenied):
        offers.run_action(incident, action.key, Actor(outsider, ActionSource.API))

    assert receiver.calls == []
    assert not CustomActionRun.objects.exists()


def test_an_action_of_another_channel_or_disabled_is_not_offered(
    responder, incident, channel, receiver
):
    from tests.factories import ChannelFactory

    elsewhere = make_action(ChannelFactory(name="Other"), receiver, name="Elsewhere")
    disabled = make_action(channel, receiver, name="Off", enabled=False)

    assert offers.incident_actions(incident) == []
    for action in (elsewhere, disabled):
        with pytest.raises(offers.UnknownAction):
            offers.run_action(incident, action.key, Actor(responder, ActionSource.API))
    assert receiver.calls == []


# --- Failures, in words ---------------------------------------------------------------------


def test_a_500_is_recorded_as_an_error(responder, incident, channel, receiver):
    receiver.status = 500
    action = make_action(channel, receiver)

    result = offers.run_action(incident, action.key, Actor(responder, ActionSource.API))

    assert not result.ok
    assert result.message.startswith("Roll back failed: answered 500 Internal Server Error in ")
    [entry] = called(incident)
    assert entry.startswith("Roll back called by Alice: answered 500 Internal Server Error in ")


def test_a_refused_connection_is_recorded_in_words(responder, incident, channel):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    from tests.custom_actions.receiver import Receiver

    action = make_action(channel, Receiver(), url=f"http://127.0.0.1:{port}/hook")

    result = offers.run_action(incident, action.key, Actor(responder, ActionSource.API))

    assert not result.ok
    assert result.message == "Roll back failed: the connection was refused."
    assert called(incident) == ["Roll back called by Alice: failed, the connection was refused"]


def test_a_receiver_that_does_not_answer_in_time_is_recorded_as_a_timeout(
    monkeypatch, responder, incident, channel, receiver
):
    from oncall.webhooks import sending

    # The budget, not the receiver, is what is tested: a shorter one keeps the test quick.
    monkeypatch.setattr(sending, "TOTAL_TIMEOUT", 0.3)
    receiver.delay = 1.5
    action = make_action(channel, receiver)

    result = offers.run_action(incident, action.key, Actor(responder, ActionSource.API))

    assert not result.ok
    assert result.message == "Roll back failed: no answer within 0.3 s."
    assert called(incident) == ["Roll back called by Alice: failed, no answer within 0.3 s"]


def test_a_body_template_that_fails_calls_nothing_and_says_why(
    responder, incident, channel, receiver
):
    action = make_action(
        channel, receiver, body_kind="template", body_template='{"n": "{{ 1 / 0 }}"}'
    )

    result = offers.run_action(incident, action.key, Actor(responder, ActionSource.API))

    assert receiver.calls == []
    assert result.message.startswith("Roll back was not called: its body template failed: ")
    [entry] = called(incident)
    assert entry.startswith("Roll back by Alice was not called: its body template failed")


# --- Slow receivers and lost workers ---------------------------------------------------------


def test_a_click_no_worker_took_in_time_is_not_called_and_says_so(
    settings, responder, incident, channel, receiver
):
    from datetime import timedelta

    from django.utils import timezone

    action = make_action(channel, receiver)
    run = CustomActionRun.objects.create(
        action=action,
        incident=incident,
        actor=responder,
        source="web",
        message_id="msg_late",
        created_at=timezone.now() - timedelta(seconds=settings.CUSTOM_ACTION_EXPIRY_SECONDS + 1),
    )

    runs.perform(run.pk)
    runs.perform(run.pk)
    assert runs.retire_stale() == 0

    assert receiver.calls == []
    assert called(incident) == [
        f"Roll back by Alice was not called: no worker took it within "
        f"{settings.CUSTOM_ACTION_EXPIRY_SECONDS} s"
    ]


def test_with_the_task_queue_down_the_click_says_so_and_calls_nothing(
    monkeypatch, responder, incident, channel, receiver
):
    from kombu.exceptions import OperationalError

    from oncall.custom_actions import tasks

    def down(run_id: int) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.call_action, "delay", down)
    action = make_action(channel, receiver)

    result = offers.run_action(incident, action.key, Actor(responder, ActionSource.API))

    assert not result.ok
    assert result.message == "Roll back was not called: the task queue could not be reached."
    assert receiver.calls == []
    assert called(incident) == [
        "Roll back by Alice was not called: the task queue could not be reached"
    ]


def test_the_sweep_records_once_the_runs_left_in_flight(
    settings, responder, incident, channel, receiver
):
    """A click no worker took, and a call whose worker stopped: the sweep finishes each once,
    with its reason on the timeline; a run still within its time is left alone."""
    from datetime import timedelta

    from django.utils import timezone

    from oncall.custom_actions import tasks
    from oncall.webhooks import sending

    action = make_action(channel, receiver)
    other = IncidentFactory(channel=channel)
    recent = IncidentFactory(channel=channel)
    now = timezone.now()

    def run(on, status: str, **times) -> CustomActionRun:
        return CustomActionRun.objects.create(
            action=action,
            incident=on,
            actor=responder,
            source="web",
            status=status,
            message_id=f"msg_{on.pk}",
            **times,
        )

    expiry = timedelta(seconds=settings.CUSTOM_ACTION_EXPIRY_SECONDS + 1)
    untaken = run(incident, "pending", created_at=now - expiry)
    lost_after = timedelta(seconds=2 * sending.TOTAL_TIMEOUT + 1)
    stopped = run(other, "calling", called_at=now - lost_after)
    running = run(recent, "calling", called_at=now)

    assert tasks.sweep_action_runs() == 2
    assert tasks.sweep_action_runs() == 0

    statuses = dict(CustomActionRun.objects.values_list("pk", "status"))
    assert statuses == {untaken.pk: "not_called", stopped.pk: "lost", running.pk: "calling"}
    assert called(incident) == [
        f"Roll back by Alice was not called: no worker took it within "
        f"{settings.CUSTOM_ACTION_EXPIRY_SECONDS} s"
    ]
    assert called(other) == [
        "Roll back called by Alice: its result is unknown: the worker stopped during the call"
    ]
    assert called(recent) == []
    assert receiver.calls == []
