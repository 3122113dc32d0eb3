"""The custom change event protocol's parser: fixtures through ``parse_changes``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.change_custom import parser
from integrations.sources.change_custom.source import CustomChangeSource
from oncall.change_events import MAX_CHANGE_DESCRIPTION_CHARS, ChangeStatus
from oncall.events import PayloadError


def test_it_reads_a_deployment_under_way(load_fixture):
    [change] = parser.parse(load_fixture("change_custom/deploy_processing"))

    assert change.change_key == "DEPLOY-2041"
    assert change.status == ChangeStatus.PROCESSING
    assert change.title == "Deploy checkout-api v3.14.0 to prod-eu"
    assert change.description == "Rolling update, 12 pods, canary 10% first."
    assert change.link == "https://deploy.example.com/releases/2041"
    assert change.event_time == datetime(2025, 12, 3, 13, 20, tzinfo=UTC)
    assert change.labels == {
        "service": "checkout-api",
        "cluster": "prod-eu-1",
        "team": "payments",
        "owner": "mei.lin",
    }
    assert change.keep_first_text is False  # a later event may retitle the change


def test_it_reads_the_same_change_done(load_fixture):
    [change] = parser.parse(load_fixture("change_custom/deploy_done"))

    assert change.change_key == "DEPLOY-2041"
    assert change.status == ChangeStatus.DONE
    assert change.description == ""
    assert change.link == ""


def test_a_minimal_change_takes_its_time_from_the_console(load_fixture):
    [change] = parser.parse(load_fixture("change_custom/planned_minimal"))

    assert change.status == ChangeStatus.PLANNED  # "planned": the status in any case
    assert change.event_time is None
    assert change.labels == {}


def test_a_ready_change_may_be_in_the_future_and_in_any_language(load_fixture):
    [change] = parser.parse(load_fixture("change_custom/ready_future_unicode"))

    assert change.status == ChangeStatus.READY
    assert change.change_key == "变更-2026-12-04"
    assert change.event_time == datetime(2100, 1, 1, tzinfo=UTC)
    assert change.labels["负责人"] == "王芳"


def test_a_rollback_reads_as_canceled_with_a_fractional_time(load_fixture):
    [change] = parser.parse(load_fixture("change_custom/canceled_rollback"))

    assert change.status == ChangeStatus.CANCELED
    assert change.event_time == datetime(2025, 12, 3, 13, 40, 0, 500000, tzinfo=UTC)
    assert change.link == ""  # an empty link is no link


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_missing_change_key", "change_key"),
        ("bad_unknown_status", "change_status"),
        ("bad_missing_title", "title"),
        ("bad_event_time_not_number", "event_time"),
        ("bad_label_not_string", "labels.service"),
        ("bad_link_not_web_url", "link"),
        ("bad_not_an_object", None),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        parser.parse(load_fixture(f"change_custom/{case}"))

    assert refused.value.field == field


def test_the_unknown_status_message_lists_the_statuses(load_fixture):
    with pytest.raises(PayloadError) as refused:
        parser.parse(load_fixture("change_custom/bad_unknown_status"))

    assert "Planned, Ready, Processing, Canceled, Done" in refused.value.message
    assert "'Finished'" in refused.value.message


def test_it_refuses_a_description_longer_than_the_protocol_allows():
    payload = {
        "change_key": "C-1",
        "change_status": "Done",
        "title": "t",
        "description": "x" * (MAX_CHANGE_DESCRIPTION_CHARS + 1),
    }
    with pytest.raises(PayloadError) as refused:
        parser.parse(payload)

    assert refused.value.field == "description"


@pytest.mark.parametrize("event_time", [True, -5, 0, 10**20, [1]])
def test_it_refuses_event_times_that_are_not_unix_seconds(event_time):
    payload = {"change_key": "C", "change_status": "Done", "title": "t", "event_time": event_time}
    with pytest.raises(PayloadError) as refused:
        parser.parse(payload)

    assert refused.value.field == "event_time"


def test_its_alert_parse_yields_no_alert_event_ever(load_fixture):
    # A change kind is still a SourceKind: whatever calls ``parse`` gets no alert to open an
    # incident with, and a bad payload is still refused.
    source = CustomChangeSource()
    assert source.parse(load_fixture("change_custom/deploy_processing")) == []
    with pytest.raises(PayloadError):
        source.parse(load_fixture("change_custom/bad_missing_title"))
