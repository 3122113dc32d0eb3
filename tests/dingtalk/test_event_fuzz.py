"""The event subscription URL fuzzed: whatever a stranger sends, and whatever a correctly signed
and sealed push holds (nasty text, wrong types, deep nesting, random bytes), the answer is never
a 5xx. Sealed pushes reach the group handlers, so what the edge lets through must be storable
(the PostgreSQL stage runs this too, where NUL breaks an insert)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

EXAMPLES = 60
NASTY = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Z", "C"]), max_size=40
) | st.sampled_from(["\x00", "\ud800", "a" * 300, "\U0001d518\U0001f6a8", "", " "])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | NASTY
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY, inner, max_size=3)
)
EVENT_TYPES = (
    st.sampled_from(
        ["im_cool_app_install", "im_cool_app_uninstall", "chat_update_title", "check_url"]
    )
    | NASTY
)
FIELDS = ["openConversationId", "title", "operator", "coolAppCode", "robotCode", "eventId"]


def _json(value) -> str:
    # Lone surrogates cannot be UTF-8: escape them as JSON does, as a sender would.
    return json.dumps(value, ensure_ascii=True)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    event_type=EVENT_TYPES,
    fields=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=len(FIELDS)),
)
def test_no_sealed_event_gets_a_5xx(pusher, event_type, fields):
    response = pusher.push(_json({"EventType": event_type, **fields}))
    assert response.status_code < 500, response.content


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    message=st.binary(max_size=200).map(lambda raw: raw.decode("latin-1"))
    | NASTY.filter(lambda text: "\ud800" not in text)
)
def test_no_sealed_message_gets_a_5xx(pusher, message):
    assert pusher.push(message).status_code < 500


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.dictionaries(
        st.sampled_from(["signature", "timestamp", "nonce", "msg_signature", "timeStamp"]),
        NASTY.filter(lambda text: "\x00" not in text and "\ud800" not in text),
    ),
    body=st.binary(max_size=300) | VALUES.map(lambda value: _json(value).encode()),
)
def test_no_stranger_gets_a_5xx(pusher, query, body):
    assert pusher.send(query, body).status_code < 500
