"""Notes on an incident: the lifecycle's rules (who writes, who edits and for how long, the
size limit), Markdown rendered inert, and the incident page and the REST API as surfaces."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from oncall import lifecycle
from oncall.models import ActionSource, IncidentNote, TimelineEntry
from oncall.notes import MAX_NOTE_CHARS, render_markdown
from oncall.timeline import Actor
from tests.factories import IncidentFactory, UserFactory, api_as

pytestmark = pytest.mark.django_db

Kind = TimelineEntry.Kind

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> <at id=all></at> "
    "[click](javascript:alert(3)) [data](data:text/html,<b>x</b>) "
    "[mixed](JaVaScRiPt:alert(4)) [entity](&#106;avascript:alert(5)) ![pixel](https://t.example/p.png)"
)


@pytest.fixture
def incident(channel):
    return IncidentFactory(channel=channel, title="Replication lag on db-2")


@pytest.fixture
def bob(channel):
    user = UserFactory(username="bob", first_name="Bob")
    channel.members.add(user)
    return user


def web(user) -> Actor:
    return Actor(user, ActionSource.WEB)


def written_minutes_ago(note: IncidentNote, minutes: float) -> IncidentNote:
    IncidentNote.objects.filter(pk=note.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )
    note.refresh_from_db()
    return note


def page(incident) -> str:
    return f"/incidents/{incident.public_id}/"


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- rendering ---------------------------------------------------------------------------------


def test_markdown_renders_emphasis_code_lists_and_web_links():
    html = render_markdown(
        "**Root cause**: `vacuum`\n\n- one\n- two\n\n[runbook](https://wiki.example/db)"
    )
    assert "<strong>Root cause</strong>" in html
    assert "<code>vacuum</code>" in html
    assert "<li>one</li>" in html
    assert (
        '<a href="https://wiki.example/db" rel="nofollow noopener noreferrer" target="_blank">'
        "runbook</a>" in html
    )
    assert '<a href="mailto:dba@example.com"' in render_markdown("[mail](mailto:dba@example.com)")


def test_markdown_leaves_html_scripts_mentions_and_other_schemes_inert():
    html = render_markdown(HOSTILE)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    assert "<at" not in html
    assert "&lt;at id=all&gt;" in html
    # The only link made is the image's, as a link (no image is fetched); the others are text.
    assert html.count("<a ") == 1
    assert html.count("href=") == 1
    assert '<a href="https://t.example/p.png"' in html
    assert "[click](javascript:alert(3))" in html


def test_a_relative_link_stays_text():
    assert "<a" not in render_markdown("[admin](/admin/)")


# --- the lifecycle -------------------------------------------------------------------------------


def test_a_note_is_stored_with_its_entry_on_the_timeline(
    incident, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as announced:
        outcome = lifecycle.add_note(incident, web(responder), "  Failing over to db-3  \n")
    note = outcome.note
    assert (outcome.changed, outcome.message) == (True, f"Noted on #{incident.number}")
    assert (note.body, note.author, note.source, note.edited_at) == (
        "Failing over to db-3",
        responder,
        "web",
        None,
    )
    entry = TimelineEntry.objects.get(incident=incident, kind=Kind.NOTE)
    assert (entry.note, entry.actor, entry.created_at) == (note, responder, note.created_at)
    assert entry.message == "Note by Alice"
    assert len(announced) == 1  # cards and pages refresh


def test_notes_take_their_place_among_the_other_entries(incident, responder, bob):
    lifecycle.add_note(incident, web(responder), "looking")
    lifecycle.claim(incident, web(bob))
    lifecycle.add_note(incident, web(bob), "it was the disk")
    lifecycle.close(incident, web(bob))
    kinds = [(e.kind, e.note.body if e.note else "") for e in incident.timeline.all()]
    assert kinds == [
        ("note", "looking"),
        ("claimed", ""),
        ("note", "it was the disk"),
        ("closed", ""),
    ]


def test_a_closed_incident_still_takes_notes(incident, responder):
    lifecycle.close(incident, web(responder))
    assert lifecycle.add_note(incident, web(responder), "post-mortem: see doc").changed


def test_a_non_member_cannot_write_a_note(incident, outsider):
    with pytest.raises(PermissionDenied):
        lifecycle.add_note(incident, web(outsider), "hello")
    assert not IncidentNote.objects.exists()
    assert not incident.timeline.exists()


def test_the_system_writes_and_changes_no_notes(incident, responder):
    with pytest.raises(lifecycle.InvalidRequest):
        lifecycle.add_note(incident, Actor.system(), "hello")
    note = lifecycle.add_note(incident, web(responder), "mine").note
    with pytest.raises(lifecycle.InvalidRequest):
        lifecycle.edit_note(note, Actor.system(), "rewritten")
    with pytest.raises(lifecycle.InvalidRequest):
        lifecycle.delete_note(note, Actor.system())


def test_the_refusal_after_the_window_is_translated(incident, responder, settings):
    from django.utils import translation

    settings.NOTE_EDIT_WINDOW_MINUTES = 1
    note = written_minutes_ago(lifecycle.add_note(incident, web(responder), "old").note, 2)
    with translation.override("zh-hans"), pytest.raises(lifecycle.EditWindowPassed) as refused:
        lifecycle.edit_note(note, web(responder), "new")
    assert refused.value.message.startswith("备注只能在发布后 1 分钟内修改")
    with pytest.raises(lifecycle.EditWindowPassed) as refused:
        lifecycle.edit_note(note, web(responder), "new")
    assert refused.value.message.startswith("Notes can be changed for 1 minute after they")


@pytest.mark.parametrize("body", ["", "   \n\t "])
def test_an_empty_note_is_refused(incident, responder, body):
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.add_note(incident, web(responder), body)
    assert refused.value.message == "A note needs some text."


def test_a_note_over_the_limit_is_refused_and_the_limit_fits(incident, responder):
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.add_note(incident, web(responder), "x" * (MAX_NOTE_CHARS + 1))
    assert refused.value.message == (
        "A note is at most 10,000 characters long; this one has 10,001."
    )
    assert not IncidentNote.objects.exists()
    assert lifecycle.add_note(incident, web(responder), "x" * MAX_NOTE_CHARS).changed


def test_characters_a_database_cannot_store_are_replaced(incident, responder):
    note = lifecycle.add_note(incident, web(responder), "a\x00b\ud800c").note
    note.refresh_from_db()
    assert note.body == "a\ufffdb\ufffdc"


def test_the_same_chat_message_makes_one_note(incident, responder):
    actor = Actor(responder, "feishu", {"message_id": "om_1"})
    first = lifecycle.add_note(incident, actor, "noted")
    again = lifecycle.add_note(incident, actor, "noted")
    assert (first.changed, again.changed, again.note) == (True, False, first.note)
    assert incident.timeline.filter(kind=Kind.NOTE).count() == 1


def test_the_author_edits_within_the_window_and_the_note_keeps_its_place(incident, responder):
    note = lifecycle.add_note(incident, web(responder), "frist").note
    lifecycle.claim(incident, web(responder))
    outcome = lifecycle.edit_note(note, web(responder), "first")
    note.refresh_from_db()
    assert (outcome.changed, note.body) == (True, "first")
    assert note.edited_at is not None
    assert [e.kind for e in incident.timeline.all()] == ["note", "claimed"]
    unchanged = lifecycle.edit_note(note, web(responder), "first")
    assert (unchanged.changed, unchanged.message) == (False, "The note already says this.")


def test_nobody_edits_or_deletes_someone_elses_note(incident, responder, bob):
    note = lifecycle.add_note(incident, web(responder), "mine").note
    with pytest.raises(lifecycle.NotYours) as refused:
        lifecycle.edit_note(note, web(bob), "yours now")
    assert refused.value.message == "Only its author can change a note; this one is by Alice."
    with pytest.raises(lifecycle.NotYours):
        lifecycle.delete_note(note, web(bob))
    note.refresh_from_db()
    assert note.body == "mine"


def test_a_superuser_cannot_rewrite_someone_elses_note_either(incident, responder):
    note = lifecycle.add_note(incident, web(responder), "mine").note
    root = UserFactory(username="root", is_superuser=True)
    with pytest.raises(lifecycle.NotYours):
        lifecycle.edit_note(note, web(root), "rewritten")


def test_after_the_window_the_author_is_refused_with_the_reason(incident, responder, settings):
    settings.NOTE_EDIT_WINDOW_MINUTES = 15
    note = written_minutes_ago(lifecycle.add_note(incident, web(responder), "old").note, 16)
    with pytest.raises(lifecycle.EditWindowPassed) as refused:
        lifecycle.edit_note(note, web(responder), "new")
    assert refused.value.message.startswith(
        "Notes can be changed for 15 minutes after they are written; this one was written at "
    )
    with pytest.raises(lifecycle.EditWindowPassed):
        lifecycle.delete_note(note, web(responder))
    assert IncidentNote.objects.get(pk=note.pk).body == "old"


def test_the_window_follows_the_setting(incident, responder, settings):
    settings.NOTE_EDIT_WINDOW_MINUTES = 60
    note = written_minutes_ago(lifecycle.add_note(incident, web(responder), "old").note, 30)
    assert lifecycle.edit_note(note, web(responder), "new").changed


def test_a_member_who_left_the_channel_cannot_change_their_note(incident, responder, channel):
    note = lifecycle.add_note(incident, web(responder), "mine").note
    channel.members.remove(responder)
    with pytest.raises(PermissionDenied):
        lifecycle.edit_note(note, web(responder), "still mine?")


def test_deleting_removes_the_note_and_its_entry(incident, responder):
    note = lifecycle.add_note(incident, web(responder), "wrong incident").note
    outcome = lifecycle.delete_note(note, web(responder))
    assert (outcome.changed, outcome.note) == (True, None)
    assert not IncidentNote.objects.exists()
    assert not incident.timeline.filter(kind=Kind.NOTE).exists()
    with pytest.raises(IncidentNote.DoesNotExist):
        lifecycle.delete_note(note, web(responder))


# --- the incident page ---------------------------------------------------------------------------


def test_the_page_adds_a_note_and_shows_it_rendered_in_the_timeline(signed_in, incident):
    response = signed_in.post(f"{page(incident)}notes/", {"body": "**Failing over** to db-3"})
    note = IncidentNote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{page(incident)}#note-{note.public_id}"
    assert said(response) == ["Note added."]
    body = signed_in.get(page(incident)).content.decode()
    assert f'id="note-{note.public_id}"' in body
    assert "<strong>Failing over</strong> to db-3" in body
    assert "Note by Alice" in body
    assert "via web" in body
    assert f"{page(incident)}notes/{note.public_id}/edit/" in body  # the author's, in the window
    assert 'action="/incidents/' in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_the_page_shows_a_hostile_note_inert(signed_in, incident, responder):
    lifecycle.add_note(incident, web(responder), HOSTILE)
    body = signed_in.get(page(incident)).content.decode()
    note = body.split('<div class="note-body">')[1].split("</div>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in note
    assert "<script" not in note
    assert "<img" not in note
    assert "<at" not in note
    assert "&lt;at id=all&gt;" in note
    assert note.count("href=") == 1  # the image, as a link to the URL
    assert 'href="javascript' not in body.lower()
    assert 'href="data:' not in body


def test_the_page_shows_edited_and_offers_no_edit_for_others_or_late(
    signed_in, incident, bob, responder
):
    theirs = lifecycle.add_note(incident, web(bob), "Bob's").note
    mine = lifecycle.add_note(incident, web(responder), "Alice's").note
    lifecycle.edit_note(mine, web(responder), "Alice's, fixed")
    late = written_minutes_ago(lifecycle.add_note(incident, web(responder), "late").note, 60)
    body = signed_in.get(page(incident)).content.decode()
    assert "edited" in body
    assert f"notes/{mine.public_id}/edit/" in body
    assert f"notes/{theirs.public_id}/edit/" not in body
    assert f"notes/{late.public_id}/edit/" not in body


def test_an_empty_or_too_long_note_comes_back_with_the_error(signed_in, incident):
    response = signed_in.post(f"{page(incident)}notes/", {"body": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    response = signed_in.post(f"{page(incident)}notes/", {"body": "x" * (MAX_NOTE_CHARS + 1)})
    assert response.status_code == 400
    assert "at most 10000 characters" in response.content.decode()
    assert not IncidentNote.objects.exists()


def test_the_page_needs_csrf(client, responder, incident):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(responder)
    response = strict.post(f"{page(incident)}notes/", {"body": "hello"})
    assert response.status_code == 403
    assert not IncidentNote.objects.exists()


def test_outsiders_get_404_and_write_nothing(client, outsider, incident, responder):
    note = lifecycle.add_note(incident, web(responder), "mine").note
    client.force_login(outsider)
    assert client.post(f"{page(incident)}notes/", {"body": "hi"}).status_code == 404
    edit = f"{page(incident)}notes/{note.public_id}/edit/"
    assert client.get(edit).status_code == 404
    assert client.post(f"{page(incident)}notes/{note.public_id}/delete/").status_code == 404
    assert IncidentNote.objects.count() == 1


def test_the_author_edits_and_deletes_from_the_page(signed_in, incident, responder):
    note = lifecycle.add_note(incident, web(responder), "frist").note
    edit = f"{page(incident)}notes/{note.public_id}/edit/"
    form = signed_in.get(edit)
    assert form.status_code == 200
    assert "frist" in form.content.decode()
    response = signed_in.post(edit, {"body": "first"})
    assert said(response) == ["Note saved."]
    assert IncidentNote.objects.get().body == "first"
    response = signed_in.post(f"{page(incident)}notes/{note.public_id}/delete/")
    assert said(response)[-1] == "Note deleted."
    assert not IncidentNote.objects.exists()


def test_the_edit_form_is_not_offered_for_someone_elses_note(signed_in, incident, bob):
    theirs = lifecycle.add_note(incident, web(bob), "Bob's").note
    response = signed_in.get(f"{page(incident)}notes/{theirs.public_id}/edit/")
    assert response.status_code == 302
    assert said(response) == ["Only its author can change a note; this one is by Bob."]


def test_the_page_refuses_someone_elses_note_and_a_late_edit(signed_in, incident, bob, responder):
    theirs = lifecycle.add_note(incident, web(bob), "Bob's").note
    response = signed_in.post(f"{page(incident)}notes/{theirs.public_id}/edit/", {"body": "x"})
    assert said(response) == ["Only its author can change a note; this one is by Bob."]
    late = written_minutes_ago(lifecycle.add_note(incident, web(responder), "late").note, 60)
    response = signed_in.post(f"{page(incident)}notes/{late.public_id}/delete/")
    assert said(response)[-1].startswith("Notes can be changed for 15 minutes")
    assert IncidentNote.objects.count() == 2


def test_the_note_texts_are_in_chinese(signed_in, incident, responder):
    lifecycle.add_note(incident, web(responder), "hello")
    signed_in.post("/i18n/setlang/", {"language": "zh-hans"})
    body = signed_in.get(page(incident)).content.decode()
    for words in ("添加备注", "编辑或删除", "备注人"):
        assert words in body
    response = signed_in.post(f"{page(incident)}notes/", {"body": "again"}, follow=True)
    assert "已添加备注。" in response.content.decode()


def test_the_page_reads_notes_without_a_query_per_note(
    signed_in, incident, responder, django_assert_max_num_queries
):
    signed_in.get(page(incident))
    for number in range(5):
        lifecycle.add_note(incident, web(responder), f"note {number}")
    with django_assert_max_num_queries(12):
        signed_in.get(page(incident))


# --- the REST API --------------------------------------------------------------------------------


def notes_url(incident, note=None) -> str:
    base = f"/api/v1/incidents/{incident.public_id}/notes/"
    return f"{base}{note.public_id}/" if note else base


def test_the_api_creates_lists_and_shows_notes_in_the_timeline(incident, responder):
    api = api_as(responder)
    created = api.post(notes_url(incident), {"body": "**db-3** promoted"}, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["body"] == "**db-3** promoted"
    assert data["html"] == "<p><strong>db-3</strong> promoted</p>\n"
    assert (data["author"], data["author_name"], data["source"]) == (responder.pk, "Alice", "api")
    assert data["incident"] == str(incident.public_id)
    listed = api.get(notes_url(incident)).json()
    assert [n["id"] for n in listed["results"]] == [data["id"]]
    detail = api.get(f"/api/v1/incidents/{incident.public_id}/").json()
    (entry,) = [e for e in detail["timeline"] if e["kind"] == "note"]
    assert entry["note"]["id"] == data["id"]
    assert entry["note"]["body"] == "**db-3** promoted"


def test_the_api_edits_and_deletes_the_authors_note(incident, responder):
    api = api_as(responder)
    note = lifecycle.add_note(incident, web(responder), "frist").note
    edited = api.patch(notes_url(incident, note), {"body": "first"}, format="json")
    assert edited.status_code == 200
    assert edited.json()["edited_at"] is not None
    assert api.delete(notes_url(incident, note)).status_code == 204
    assert api.get(notes_url(incident, note)).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "A note needs some text."),
        (
            "x" * (MAX_NOTE_CHARS + 1),
            "A note is at most 10,000 characters long; this one has 10,001.",
        ),
    ],
)
def test_the_api_refuses_bad_bodies_with_a_reason(incident, responder, body, message):
    response = api_as(responder).post(notes_url(incident), {"body": body}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["body"] == [message]
    assert not IncidentNote.objects.exists()


def test_the_api_needs_a_body(incident, responder):
    response = api_as(responder).post(notes_url(incident), {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["body"] == ["This field is required."]


def test_the_api_refuses_someone_elses_note_with_403_and_a_late_one_with_409(
    incident, responder, bob
):
    theirs = lifecycle.add_note(incident, web(bob), "Bob's").note
    response = api_as(responder).patch(notes_url(incident, theirs), {"body": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "not_your_note",
        "message": "Only its author can change a note; this one is by Bob.",
    }
    late = written_minutes_ago(lifecycle.add_note(incident, web(responder), "late").note, 60)
    response = api_as(responder).delete(notes_url(incident, late))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "edit_window_passed"
    assert IncidentNote.objects.count() == 2


def test_the_api_hides_other_channels_notes(incident, responder, outsider):
    note = lifecycle.add_note(incident, web(responder), "mine").note
    api = api_as(outsider)
    assert api.get(notes_url(incident)).status_code == 404
    assert api.post(notes_url(incident), {"body": "hi"}, format="json").status_code == 404
    assert api.patch(notes_url(incident, note), {"body": "x"}, format="json").status_code == 404
    assert api.get("/api/v1/incidents/not-a-uuid/notes/").status_code == 404
    assert IncidentNote.objects.count() == 1


def test_the_schema_documents_the_notes_and_their_errors(client):
    schema = client.get("/api/schema/?format=json").json()
    path = schema["paths"]["/api/v1/incidents/{incident_id}/notes/{note_id}/"]
    assert set(path) >= {"get", "patch", "delete"}
    assert {"400", "403", "404", "409"} <= set(path["patch"]["responses"])
    create = schema["paths"]["/api/v1/incidents/{incident_id}/notes/"]["post"]
    assert "201" in create["responses"]


def test_the_admin_shows_the_notes_read_only(admin_client, incident, responder):
    lifecycle.add_note(incident, web(responder), "Failing over to db-3")
    page = admin_client.get(f"/admin/oncall/incident/{incident.pk}/change/").content.decode()
    assert "Failing over to db-3" in page
    assert 'name="notes-0-body"' not in page  # shown, not editable
