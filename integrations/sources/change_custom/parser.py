"""The custom change event protocol: one change event per request, a JSON object.

Fields (the knowledge base's "Custom change event" protocol; names kept so that a script
written for one works with the other):

* ``change_key`` (required, at most 255 characters): the change's identity, usually the change
  ticket's number. Events with the same key update one change.
* ``change_status`` (required): ``Planned`` (ticket submitted), ``Ready`` (about to start),
  ``Processing`` (under way), ``Canceled`` (canceled or rolled back) or ``Done``, in any case.
  A sender reports only the statuses it has.
* ``title`` (required, a non-blank string of at most 512 characters).
* ``event_time`` (optional): when it happened, Unix seconds; now when left out. A ``Ready``
  change may give a time in the future.
* ``description`` (optional, at most 2048 characters); ``link`` (optional, an http(s) URL to
  the change's details).
* ``labels`` (optional): an object of strings; at most 50, keys at most 128 characters. Scope
  (host, cluster, ``service``) and ownership (team, owner) make changes findable: an incident
  shows the changes of its channel and those whose ``service`` label one of its alerts has.

Anything else is refused with the field and the reason (our own protocol: nothing is coerced).
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_labels,
    get_str,
    is_web_url,
    parse_epoch_time,
    require_object,
    truncate,
)
from oncall.change_events import (
    MAX_CHANGE_DESCRIPTION_CHARS,
    MAX_CHANGE_KEY_CHARS,
    MAX_CHANGE_TITLE_CHARS,
    ChangeRecord,
    ChangeStatus,
)
from oncall.events import PayloadError

MAX_LINK_CHARS = 2048
STATUS_WORDS = ("Planned", "Ready", "Processing", "Canceled", "Done")


def parse(payload: Any) -> list[ChangeRecord]:
    """The one change event of a request (see the module docstring)."""
    body = require_object(payload, None)
    return [
        ChangeRecord(
            change_key=get_str(
                body,
                "change_key",
                field="change_key",
                required=True,
                max_chars=MAX_CHANGE_KEY_CHARS,
            ).strip(),
            status=_status(body),
            title=get_str(
                body, "title", field="title", required=True, max_chars=MAX_CHANGE_TITLE_CHARS
            ).strip(),
            description=get_str(
                body, "description", field="description", max_chars=MAX_CHANGE_DESCRIPTION_CHARS
            ),
            link=_link(body),
            labels=clean_labels(body.get("labels"), field="labels"),
            event_time=parse_epoch_time(body.get("event_time"), field="event_time", unit="s"),
        )
    ]


def _status(body: dict[str, Any]) -> ChangeStatus:
    word = get_str(body, "change_status", field="change_status", required=True)
    status = ChangeStatus.from_word(word)
    if status is None:
        raise PayloadError(
            f"change_status must be one of {', '.join(STATUS_WORDS)}, not {truncate(word, 40)!r}",
            field="change_status",
        )
    return status


def _link(body: dict[str, Any]) -> str:
    link = get_str(body, "link", field="link", max_chars=MAX_LINK_CHARS).strip()
    if link and not is_web_url(link):
        raise PayloadError(f"link must be an http(s) URL, not {truncate(link, 64)!r}", field="link")
    return link
