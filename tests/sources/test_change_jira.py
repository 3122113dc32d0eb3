"""Jira's issue webhook as changes: the knowledge base's mapping, through ``parse_changes``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.change_jira import parser
from oncall.change_events import ChangeStatus
from oncall.events import PayloadError

# The knowledge base's table ("Jira issue events", status mapping), as Jira would spell them.
KNOWLEDGE_BASE_TABLE = [
    ("Planned", ChangeStatus.PLANNED),
    ("To Do", ChangeStatus.PLANNED),
    ("Backlog", ChangeStatus.PLANNED),
    ("Ready", ChangeStatus.READY),
    ("Selected for Development", ChangeStatus.READY),
    ("Processing", ChangeStatus.PROCESSING),
    ("Open", ChangeStatus.PROCESSING),
    ("Reopen", ChangeStatus.PROCESSING),
    ("Reopened", ChangeStatus.PROCESSING),
    ("In Progress", ChangeStatus.PROCESSING),
    ("In Review", ChangeStatus.PROCESSING),
    ("Canceled", ChangeStatus.CANCELED),
    ("Aborted", ChangeStatus.CANCELED),
    ("Done", ChangeStatus.DONE),
    ("Resolved", ChangeStatus.DONE),
    ("Closed", ChangeStatus.DONE),
]


def test_a_created_issue_is_a_planned_change(load_fixture):
    [change] = parser.parse(load_fixture("change_jira/issue_created"))

    assert change.change_key == "OPS-123"
    assert change.status == ChangeStatus.PLANNED
    assert change.title == "[OPS-123/To Do] Upgrade the orders database to PostgreSQL 16"
    assert change.description.startswith("Maintenance window 22:00-23:00.\nRollback:")
    assert change.link == "https://acme-ops.atlassian.net/browse/OPS-123"
    assert change.event_time == datetime(2025, 12, 3, 1, 58, 11, tzinfo=UTC)
    assert change.keep_first_text is True
    assert change.labels == {
        "project": "Operations",
        "issuetype": "Change",
        "priority": "High",
        "creator": "Chen Jie",
        "reporter": "Chen Jie",
        "release": "true",
    }


def test_an_issue_transitioned_to_done_is_a_done_change_with_its_changelog(load_fixture):
    [change] = parser.parse(load_fixture("change_jira/issue_transitioned_done"))

    assert change.change_key == "OPS-123"
    assert change.status == ChangeStatus.DONE
    assert change.labels["assignee"] == "Zhao Lei"
    assert change.labels["changelog"] == (
        "status: 'In Progress' -> 'Done', resolution: '' -> 'Done'"
    )
    assert change.labels["database"] == "true"
    assert change.event_time == datetime(2025, 12, 3, 2, 41, 27, tzinfo=UTC)


def test_an_issue_in_progress_is_processing(load_fixture):
    [change] = parser.parse(load_fixture("change_jira/issue_in_progress"))

    assert change.status == ChangeStatus.PROCESSING
    assert change.labels["changelog"] == "status: 'To Do' -> 'In Progress'"


def test_a_deleted_issue_keeps_the_status_it_had(load_fixture):
    [change] = parser.parse(load_fixture("change_jira/issue_deleted"))

    assert change.status == ChangeStatus.PROCESSING  # "In Review", not made canceled
    assert change.change_key == "OPS-123"


def test_other_jira_events_record_nothing(load_fixture):
    assert parser.parse(load_fixture("change_jira/comment_created_ignored")) == []


def test_a_document_format_description_is_read_as_text_on_a_server_site(load_fixture):
    [change] = parser.parse(load_fixture("change_jira/issue_adf_description"))

    assert change.description == "Switch the CDN to the new origin\nOwner: edge team"
    assert change.status == ChangeStatus.READY  # "selected for development", any case
    assert change.link == "https://jira.example.internal/jira/browse/OPS-124"
    assert "priority" not in change.labels
    assert "assignee" not in change.labels


@pytest.mark.parametrize(("name", "status"), KNOWLEDGE_BASE_TABLE)
def test_it_maps_every_status_of_the_knowledge_base_table(load_fixture, name, status):
    for spelling in (name, name.upper(), f" {name.lower()} "):
        payload = load_fixture("change_jira/issue_in_progress")
        payload["issue"]["fields"]["status"]["name"] = spelling
        [change] = parser.parse(payload)
        assert change.status == status


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_unmapped_status", "issue.fields.status.name"),
        ("bad_missing_issue", "issue"),
        ("bad_missing_issue_key", "issue.key"),
        ("bad_missing_status", "issue.fields.status"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        parser.parse(load_fixture(f"change_jira/{case}"))

    assert refused.value.field == field


def test_an_unmapped_status_is_named_in_the_refusal(load_fixture):
    with pytest.raises(PayloadError) as refused:
        parser.parse(load_fixture("change_jira/bad_unmapped_status"))

    assert "'Waiting for Approval' is not mapped to a change status" in refused.value.message


def test_a_payload_without_a_webhook_event_is_refused():
    with pytest.raises(PayloadError) as refused:
        parser.parse({"issue": {"key": "OPS-1"}})

    assert refused.value.field == "webhookEvent"
