"""Any JSON body into alert events, by a mapping (``mapping.py``; README.md explains it).

A mapping is written by an admin, not by the sender, so whatever goes wrong while applying it
(a filter given the wrong type, a limit of ``sandbox.py``, a value of the wrong shape) is a
``PayloadError`` naming the mapping's field (``mapping.labels``) and the alert's position: the
sender gets a 400 with that reason, and the source's page shows it with the payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from integrations.sources.common import (
    clean_labels,
    is_web_url,
    json_type,
    map_severity,
    merge_extra_labels,
    to_text,
    truncate,
)
from integrations.sources.custom_webhook import sandbox
from integrations.sources.custom_webhook.mapping import CompiledMapping, compile_mapping
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    Link,
    PayloadError,
    Severity,
    stable_key,
)

MAX_ALERT_KEY_CHARS = 255


def parse(payload: Any, options: Mapping[str, Any]) -> list[AlertEvent]:
    """The events ``options`` (a mapping that ``mapping.problems`` accepts) finds in
    ``payload``; one shared time limit for the whole push."""
    try:
        mapping = compile_mapping(options)
    except Exception as error:  # saved past the checks (a script, an old row): refuse, not 500
        raise PayloadError(
            f"The source's mapping is not valid ({truncate(str(error), 200)}): save it again "
            "on the source's page, which says what to fix.",
            field="mapping",
        ) from None
    with sandbox.time_limit():
        elements = _batch(mapping, payload)
        return [
            _Alert(mapping, payload, element, index, len(elements)).event()
            for index, element in enumerate(elements)
        ]


def _batch(mapping: CompiledMapping, payload: Any) -> list[Any]:
    if mapping.alerts is None:
        return [payload]
    shared = sandbox.variables(body=payload, alert=payload, index=0)
    value = _run("alerts", "", lambda: mapping.alerts.run(shared))
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]  # a sender that sends one alert bare and several in a list
    raise PayloadError(
        f"mapping.alerts must give a list of alerts, but gives {json_type(value)} "
        "for this body: is it the sender's payload, and does the expression name its list?",
        field="mapping.alerts",
    )


class _Alert:
    """One batch element being mapped: renders each field, naming it in any error."""

    def __init__(
        self, mapping: CompiledMapping, body: Any, element: Any, index: int, count: int
    ) -> None:
        self.mapping = mapping
        self.variables = sandbox.variables(body=body, alert=element, index=index)
        self.where = f" (alert {index + 1} of {count})" if count > 1 else ""

    def event(self) -> AlertEvent:
        title = self.text("title").strip()
        if not title:
            raise PayloadError(
                f"mapping.title renders an empty title{self.where}: does the template name "
                "fields this body has?",
                field="mapping.title",
            )
        labels = self.labels()
        raw_severity = self.text("severity").strip()
        return AlertEvent(
            alert_key=self.alert_key(title, labels),
            kind=self.kind(),
            title=truncate(title, MAX_TITLE_CHARS),
            severity=self.severity(raw_severity),
            raw_severity=truncate(raw_severity, 64),
            description=truncate(self.text("description").strip(), MAX_DESCRIPTION_CHARS),
            labels=labels,
            links=self.links(),
        )

    # --- fields ------------------------------------------------------------------------------

    def text(self, name: str, template: Any = None) -> str:
        template = template or getattr(self.mapping, name)
        if template is None:
            return ""
        return _run(name, self.where, lambda: template.run(self.variables))

    def value(self, name: str) -> Any:
        expression = getattr(self.mapping, name)
        if expression is None:
            return None
        return _run(name, self.where, lambda: expression.run(self.variables))

    def kind(self) -> EventKind:
        status = self.text("status").strip().lower()
        return EventKind.RESOLVED if status in self.mapping.recovery_values else EventKind.FIRING

    def severity(self, raw: str) -> Severity:
        # The source's own table first, then the common words (critical, P1, warn...).
        mapped = self.mapping.severity_map.get(raw.lower())
        return mapped or map_severity(raw, self.mapping.default_severity)

    def alert_key(self, title: str, labels: dict[str, str]) -> str:
        key = self.text("alert_key").strip()
        if len(key) > MAX_ALERT_KEY_CHARS:
            raise PayloadError(
                f"mapping.alert_key renders {len(key)} characters{self.where}; at most "
                f"{MAX_ALERT_KEY_CHARS} are allowed",
                field="mapping.alert_key",
            )
        # No identity mapped (or none in this body): the same title and labels are the same
        # alert, so a recovery with them resolves it.
        return key or stable_key(title, labels)

    def labels(self) -> dict[str, str]:
        raw = self.value("labels")
        field = "mapping.labels"
        if isinstance(raw, dict):
            # Any JSON may be mapped here: nested values become text, nulls are left out.
            raw = {
                str(key): to_text(value) if isinstance(value, dict | list) else value
                for key, value in raw.items()
                if not sandbox.is_unset(value)
            }
        try:
            labels = clean_labels(raw, field=field, lenient=True)
        except PayloadError as error:
            raise PayloadError(error.message + self.where, field=field) from None
        written = {}
        for key, template in self.mapping.extra_labels:
            value = self.text(f"extra_labels.{key}", template).strip()
            if value:  # a label for a field this body lacks is noise
                written[key] = truncate(value, MAX_LABEL_VALUE_CHARS)
        # Labels written in the mapping win over those found in the body.
        return merge_extra_labels(written, labels)

    def links(self) -> tuple[Link, ...]:
        raw = self.value("links")
        if isinstance(raw, tuple):
            raw = list(raw)
        entries = raw if isinstance(raw, list) else [] if raw is None else [raw]
        links = []
        for entry in entries:
            link = _link(entry)
            if link is False:
                raise PayloadError(
                    "mapping.links must give URLs, {href, text} objects or a list of them, "
                    f"not {json_type(entry)}{self.where}",
                    field="mapping.links",
                )
            if link is not None:
                links.append(link)
        return tuple(links)


def _link(entry: Any) -> Link | bool | None:
    """A link, ``None`` for an entry to skip (a blank or non-web URL: senders often send ""),
    ``False`` for an entry of the wrong shape."""
    if sandbox.is_unset(entry):
        return None
    if isinstance(entry, str):
        return Link(href=entry.strip()) if is_web_url(entry) else None
    if isinstance(entry, dict):
        href = entry.get("href") or entry.get("url")
        text = entry.get("text") or entry.get("name") or ""
        return Link(href=href.strip(), text=str(text)) if is_web_url(href) else None
    return False


def _run(name: str, where: str, render: Callable[[], Any]) -> Any:
    try:
        return render()
    except PayloadError:
        raise
    except RecursionError:
        raise PayloadError(
            f"mapping.{name} recurses too deeply{where}", field=f"mapping.{name}"
        ) from None
    except Exception as error:  # the mapping is the admin's code: any failure is its field's
        message = str(error) or type(error).__name__
        raise PayloadError(
            f"mapping.{name} failed{where}: {truncate(message, 300)}", field=f"mapping.{name}"
        ) from None
