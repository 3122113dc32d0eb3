"""Jira's issue webhook (Jira Cloud and Data Center / Server) as change events.

Mapped as the knowledge base's "Jira issue events" page says:

* Only ``jira:issue_created``, ``jira:issue_updated`` and ``jira:issue_deleted`` pushes record a
  change; every other ``webhookEvent`` (comments, worklogs, sprints, versions, projects) is
  understood and records nothing, so that Jira does not retry it.
* Identity: ``issue.key`` (``OPS-123``): every push about one issue updates one change, whatever
  the update was (a transition, an assignment, a comment's issue update).
* Status: ``issue.fields.status.name``, case-insensitively, by :data:`STATUS_MAP`; a name not in
  the table is refused (400 naming the field), as the knowledge base does. A deleted issue keeps
  the status it had (it is not made "canceled").
* Title ``[<key>/<status>] <summary>`` and description (``issue.fields.description``) come from
  the change's first push and are kept (``keep_first_text``); status and labels follow later
  pushes, except a push older than the last one recorded (``timestamp``, Jira's event time in
  milliseconds).
* Link: the issue's page, ``<site>/browse/<key>``, where ``<site>`` is ``issue.self`` up to
  ``/rest/api/``.
* Labels: ``project``, ``issuetype``, ``priority``, ``creator``, ``reporter``, ``assignee`` (display
  names), ``changelog`` (``field: 'old' -> 'new'``, comma separated) and each Jira label with the
  value ``true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.sources.common import (
    at,
    get_list,
    get_str,
    is_web_url,
    json_type,
    merge_extra_labels,
    optional_object,
    parse_epoch_time,
    require_object,
    to_text,
    truncate,
)
from oncall.change_events import (
    MAX_CHANGE_DESCRIPTION_CHARS,
    MAX_CHANGE_KEY_CHARS,
    MAX_CHANGE_TITLE_CHARS,
    ChangeRecord,
    ChangeStatus,
)
from oncall.events import MAX_LABEL_VALUE_CHARS, PayloadError

ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})

# The knowledge base's table: Jira status name (lower case) -> change status.
STATUS_MAP: Mapping[str, ChangeStatus] = {
    **dict.fromkeys(("planned", "to do", "backlog"), ChangeStatus.PLANNED),
    **dict.fromkeys(("ready", "selected for development"), ChangeStatus.READY),
    **dict.fromkeys(
        ("processing", "open", "reopen", "reopened", "in progress", "in review"),
        ChangeStatus.PROCESSING,
    ),
    **dict.fromkeys(("canceled", "aborted"), ChangeStatus.CANCELED),
    **dict.fromkeys(("done", "resolved", "closed"), ChangeStatus.DONE),
}

# Person fields shown by their display name.
_PEOPLE = ("creator", "reporter", "assignee")
_REST_PATH = "/rest/api/"


def parse(payload: Any) -> list[ChangeRecord]:
    """The change of an issue push; ``[]`` for Jira's other events (see the module docstring)."""
    body = require_object(payload, None)
    event = get_str(body, "webhookEvent", field="webhookEvent", required=True)
    if event not in ISSUE_EVENTS:
        return []
    issue = _required_object(body, "issue", None)
    key = get_str(issue, "key", field="issue.key", required=True, max_chars=MAX_CHANGE_KEY_CHARS)
    fields = _required_object(issue, "fields", "issue")
    status_name, status = _status(fields)
    summary = get_str(fields, "summary", field="issue.fields.summary").strip()
    return [
        ChangeRecord(
            change_key=key.strip(),
            status=status,
            title=truncate(
                f"[{key.strip()}/{status_name}] {summary}".strip(), MAX_CHANGE_TITLE_CHARS
            ),
            description=truncate(_text(fields.get("description")), MAX_CHANGE_DESCRIPTION_CHARS),
            link=_browse_link(issue, key.strip()),
            labels=_labels(body, fields),
            event_time=parse_epoch_time(body.get("timestamp"), field="timestamp", unit="ms"),
            keep_first_text=True,
        )
    ]


def _required_object(obj: Mapping[str, Any], key: str, parent: str | None) -> dict[str, Any]:
    field = at(parent, key)
    if obj.get(key) is None:
        raise PayloadError(
            f"{field} is required (is the webhook's Exclude body unchecked?)", field=field
        )
    return require_object(obj[key], field)


def _status(fields: dict[str, Any]) -> tuple[str, ChangeStatus]:
    status_object = _required_object(fields, "status", "issue.fields")
    field = "issue.fields.status.name"
    name = get_str(status_object, "name", field=field, required=True).strip()
    status = STATUS_MAP.get(name.lower())
    if status is None:
        raise PayloadError(
            f"issue status {truncate(name, 64)!r} is not mapped to a change status (mapped: "
            "To Do, Backlog, Planned, Ready, Selected for Development, Open, In Progress, "
            "In Review, Processing, Reopened, Canceled, Aborted, Done, Resolved, Closed)",
            field=field,
        )
    return name, status


def _text(value: Any) -> str:
    """A description as text: Jira sends wiki-markup text, or (REST API v3 shapes) an Atlassian
    Document Format tree, whose ``text`` nodes are joined here, one paragraph a line."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        own = value.get("text") if isinstance(value.get("text"), str) else ""
        inner = [_text(child) for child in value.get("content") or () if isinstance(child, dict)]
        separator = "\n" if value.get("type") in ("doc", None) else ""
        return own + separator.join(part for part in inner if part)
    return to_text(value)


def _browse_link(issue: dict[str, Any], key: str) -> str:
    rest_url = issue.get("self")
    if not is_web_url(rest_url) or _REST_PATH not in rest_url:
        return ""
    return f"{rest_url.split(_REST_PATH, 1)[0].rstrip('/')}/browse/{key}"


def _labels(body: dict[str, Any], fields: dict[str, Any]) -> dict[str, str]:
    labels = {
        "project": _name(fields, "project", "name"),
        "issuetype": _name(fields, "issuetype", "name"),
        "priority": _name(fields, "priority", "name"),
        **{person: _name(fields, person, "displayName") for person in _PEOPLE},
        "changelog": _changelog(body),
    }
    present = {
        key: truncate(value, MAX_LABEL_VALUE_CHARS) for key, value in labels.items() if value
    }
    jira_labels = get_list(fields, "labels", field="issue.fields.labels")
    return merge_extra_labels(
        present, {label: "true" for label in jira_labels if isinstance(label, str)}
    )


def _name(fields: dict[str, Any], key: str, name_key: str) -> str:
    field = at("issue.fields", key)
    value = optional_object(fields, key, field=field).get(name_key)
    return value.strip() if isinstance(value, str) else ""


def _changelog(body: dict[str, Any]) -> str:
    changelog = optional_object(body, "changelog", field="changelog")
    items = get_list(changelog, "items", field="changelog.items")
    parts = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            where = at("changelog.items", index)
            raise PayloadError(f"{where} must be an object, not {json_type(item)}", field=where)
        old, new = _plain(item.get("fromString")), _plain(item.get("toString"))
        parts.append(f"{_plain(item.get('field'))}: '{old}' -> '{new}'")
    return ", ".join(parts)


def _plain(value: Any) -> str:
    return "" if value is None else to_text(value)
