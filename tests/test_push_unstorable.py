"""Pushes the console cannot store as sent: NUL characters and unpaired surrogates anywhere in
the text, JSON nested thousands of levels deep, numbers longer than Python reads. Each used to
answer 500 (so the sender retried for ever); now text is stored with U+FFFD in place of the
character and a note naming the field, and unreadable JSON is a 400 with the reason.

These run on SQLite and on PostgreSQL; PostgreSQL is where NUL broke the jsonb insert."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oncall.models import Alert, InboundEvent
from tests import payloads
from tests.factories import AlertSourceFactory

pytestmark = pytest.mark.django_db

REPLACEMENT = "\ufffd"
NASTY = ["\x00", "\ud800", "\udfff"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def am(**labels: str) -> dict[str, Any]:
    return payloads.alertmanager(payloads.am_alert(**labels))


def pd_trigger(**payload: Any) -> dict[str, Any]:
    event = payloads.pagerduty("trigger", dedup_key="disk-db-1")
    event["payload"].update(payload)
    return event


# (source kind, payload with {x} where the nasty character goes, the field path named in the note)
CASES: list[tuple[str, Any, str]] = [
    ("standard", lambda x: payloads.standard(f"CPU{x} high"), "title_rule"),
    ("standard", lambda x: payloads.standard(labels={"team": f"db{x}"}), "labels.team"),
    ("standard", lambda x: payloads.standard(labels={f"te{x}am": "db"}), "labels.te�am"),
    ("standard", lambda x: payloads.standard(alert_key=f"key{x}"), "alert_key"),
    ("alertmanager", lambda x: am(team=f"db{x}"), "alerts[0].labels.team"),
    ("alertmanager", lambda x: am(**{f"te{x}am": "db"}), "alerts[0].labels.te�am"),
    ("pagerduty", lambda x: pd_trigger(summary=f"Disk{x} full"), "payload.summary"),
    ("pagerduty", lambda x: pd_trigger(source=f"db{x}"), "payload.source"),
    ("pagerduty", lambda x: pd_trigger(custom_details={"k": f"v{x}"}), "payload.custom_details.k"),
    (
        "pagerduty",
        lambda x: {**payloads.pagerduty("trigger"), "dedup_key": f"d{x}"},
        "dedup_key",
    ),
]


@pytest.mark.parametrize("character", NASTY, ids=["nul", "high-surrogate", "low-surrogate"])
@pytest.mark.parametrize(("kind", "build", "path"), CASES)
def test_it_stores_unstorable_text_replaced_and_notes_the_field(
    push, channel, character, kind, build, path
):
    source = AlertSourceFactory(channel=channel, kind=kind)
    # json.dumps writes the character as a \u escape, as senders do.
    response = push(source, build(character))
    assert response.status_code in (200, 202), response.content
    inbound = InboundEvent.objects.get()
    assert inbound.status == InboundEvent.Status.PROCESSED
    note = " ".join(inbound.notes)
    assert "U+FFFD" in note
    assert path in note
    alert = Alert.objects.get()
    stored = json.dumps([alert.title, alert.alert_key, alert.labels], ensure_ascii=False)
    assert REPLACEMENT in stored
    assert character not in stored


def test_the_answer_carries_the_note_too(push, channel):
    source = AlertSourceFactory(channel=channel, kind="alertmanager")
    response = push(source, am(team="db\x00"))
    assert response.status_code == 200
    assert any("alerts[0].labels.team" in note for note in response.json()["notes"])


def test_a_clean_push_gets_no_note(push, channel):
    source = AlertSourceFactory(channel=channel, kind="alertmanager")
    push(source, am(team="db"))
    assert not any("U+FFFD" in note for note in InboundEvent.objects.get().notes)


@pytest.mark.parametrize("character", NASTY)
def test_a_routing_key_with_unstorable_text_matches_no_source(client, character):
    event = payloads.pagerduty("trigger", routing_key=f"key{character}")
    response = client.post(
        "/push/pagerduty/v2/enqueue", data=json.dumps(event), content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json()["errors"] == ["invalid_token"]


def test_a_push_token_with_a_nul_in_the_url_matches_no_source(client):
    response = client.post("/push/abc%00def", data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


UNREADABLE = [
    (nested(3000), "deeper"),
    ('{"alerts": [' + nested(100) + "]}", "deeper"),
    ('{"n": ' + "9" * 5000 + "}", "digits"),
    ('{"n": NaN}', "NaN"),
    ('{"n": -Infinity}', "Infinity"),
    ('{"n": 1e999}', "1e999"),
]


@pytest.mark.parametrize(("body", "reason"), UNREADABLE, ids=lambda v: str(v)[:12])
def test_json_the_console_cannot_read_is_a_400_with_the_reason(push, channel, body, reason):
    source = AlertSourceFactory(channel=channel, kind="standard")
    response = push(source, None, raw=body.encode())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert reason in error["message"]
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(("body", "reason"), UNREADABLE[:3], ids=["deep", "deep-inside", "digits"])
def test_pagerdutys_own_url_refuses_unreadable_json_with_the_reason(client, body, reason):
    response = client.post(
        "/push/pagerduty/v2/enqueue", data=body.encode(), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["invalid_json"]
    assert reason in response.json()["message"]


@pytest.mark.parametrize("declared", ["abc", "²", "9" * 5000])
def test_a_content_length_that_is_not_a_number_is_not_a_500(client, channel, declared):
    source = AlertSourceFactory(channel=channel, kind="standard")
    response = client.post(
        f"/push/{source.token}",
        json.dumps(payloads.standard()),
        content_type="application/json",
        CONTENT_LENGTH=declared,
    )
    assert response.status_code < 500
