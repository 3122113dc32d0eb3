"""Whatever JSON a sender posts, a parser answers with events or a PayloadError (a 400 with a
reason), never with another exception (a 500 the sender would retry forever)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncall.events import AlertEvent, PayloadError
from oncall.sources import PushRequest, SourceKind, source_kind

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=25,
)
KEYS = [
    "status",
    "alerts",
    "labels",
    "annotations",
    "fingerprint",
    "title",
    "title_rule",
    "event_status",
    "alert_key",
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "summary",
    "severity",
    "source",
    "evalMatches",
    "ruleId",
    "ruleName",
    "state",
    "links",
    "images",
    "startsAt",
    "endsAt",
    "custom_details",
    "values",
    "description",
]
# Objects built from the fields the senders really use, so generation reaches deep branches.
SHAPED = st.recursive(
    st.dictionaries(st.sampled_from(KEYS), SCALARS, max_size=8),
    lambda inner: st.dictionaries(
        st.sampled_from(KEYS), inner | st.lists(inner, max_size=3) | SCALARS, max_size=8
    ),
    max_leaves=30,
)


@pytest.mark.parametrize("kind", list(django_settings.ALERT_SOURCES))
@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(payload=JSON | SHAPED)
def test_any_json_gives_events_or_a_payload_error(kind, payload):
    source = source_kind(kind)
    outcome = parse_or_error(source, payload)
    if isinstance(outcome, PayloadError):
        assert outcome.message
    else:
        assert all(isinstance(event, AlertEvent) and event.alert_key for event in outcome)
    assert source.recognises(payload) in (True, False)  # and never raises


def parse_or_error(source: SourceKind, payload) -> list[AlertEvent] | PayloadError:
    push = PushRequest.bare(source.clean_options(source.default_options()))
    try:
        return source.parse_push(payload, push)
    except PayloadError as error:
        return error
