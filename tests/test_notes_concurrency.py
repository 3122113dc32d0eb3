"""Notes under real concurrency on PostgreSQL: the incident's row lock orders notes with
every other change, so a message handled twice at once makes one note and an edit racing a
delete leaves no half-changed note or orphaned entry."""

from __future__ import annotations

import pytest
from django.db import connection

from oncall import lifecycle
from oncall.models import ActionSource, IncidentNote, TimelineEntry
from oncall.timeline import Actor
from tests.concurrency import ROUNDS, race
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Kind = TimelineEntry.Kind


@pytest.fixture
def alice(channel):
    user = UserFactory(username="alice", first_name="Alice")
    channel.members.add(user)
    return user


def test_one_chat_message_handled_twice_at_once_makes_one_note(channel, alice):
    assert connection.vendor == "postgresql"
    for round_ in range(ROUNDS):
        incident = IncidentFactory(channel=channel)
        actor = Actor(alice, "feishu", {"message_id": f"om_{round_}"})
        results = race(
            lambda pk=incident.pk, actor=actor: lifecycle.add_note(pk, actor, "on it"),
            lambda pk=incident.pk, actor=actor: lifecycle.add_note(pk, actor, "on it"),
        )

        assert sorted(r.changed for r in results) == [False, True], results
        assert IncidentNote.objects.filter(incident=incident).count() == 1
        assert incident.timeline.filter(kind=Kind.NOTE).count() == 1


def test_an_edit_racing_a_delete_leaves_the_note_whole_or_gone(channel, alice):
    actor = Actor(alice, ActionSource.WEB)
    for _ in range(ROUNDS):
        incident = IncidentFactory(channel=channel)
        note = lifecycle.add_note(incident, actor, "frist").note
        edit, delete = race(
            lambda ref=note.public_id: lifecycle.edit_note(ref, actor, "first"),
            lambda ref=note.public_id: lifecycle.delete_note(ref, actor),
        )

        assert isinstance(delete, lifecycle.NoteOutcome), delete
        # The edit came first, or found the note gone.
        assert isinstance(edit, lifecycle.NoteOutcome | IncidentNote.DoesNotExist), edit
        assert not IncidentNote.objects.filter(incident=incident).exists()
        assert not incident.timeline.filter(kind=Kind.NOTE).exists()


def test_notes_and_a_claim_at_once_are_all_on_the_timeline_in_order(channel, alice):
    bob = UserFactory(username="bob", first_name="Bob")
    channel.members.add(bob)
    for _ in range(ROUNDS):
        incident = IncidentFactory(channel=channel)
        race(
            lambda pk=incident.pk: lifecycle.add_note(pk, Actor(alice, ActionSource.WEB), "a"),
            lambda pk=incident.pk: lifecycle.claim(pk, Actor(bob, ActionSource.API)),
            lambda pk=incident.pk: lifecycle.add_note(pk, Actor(bob, ActionSource.API), "b"),
        )

        entries = list(incident.timeline.all())
        assert sorted(e.kind for e in entries) == ["claimed", "note", "note"]
        moments = [e.created_at for e in entries]
        assert moments == sorted(moments)
        notes = {e.note.body: e.created_at for e in entries if e.note}
        assert notes.keys() == {"a", "b"}
