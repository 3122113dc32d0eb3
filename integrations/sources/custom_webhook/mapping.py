"""A custom-webhook mapping: what ``AlertSource.options`` holds, how it is checked when saved,
and how it is compiled (see README.md for the language and a worked example).

``options`` is a JSON object of the fields below; templates are Jinja2 text
(``{{ alert.labels.alertname }} on {{ alert.host }}``), expressions are one Jinja2 expression
without braces (``body.alerts``, ``alert.labels``) whose value is used as it is (a list, an
object). Both see ``body`` (the whole decoded JSON), ``alert`` (the batch element being mapped;
the body itself when there is no ``alerts`` expression) and ``index`` (its position).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from jinja2.exceptions import TemplateSyntaxError

from integrations.sources.common import json_type
from integrations.sources.custom_webhook.sandbox import ENVIRONMENT, Compiled
from oncall.events import MAX_LABEL_KEY_CHARS, MAX_LABELS, Severity

MAX_SOURCE_CHARS = 4000
MAX_TABLE_ENTRIES = 200
MAX_TABLE_KEY_CHARS = 200

TEMPLATES = ("title", "description", "alert_key", "severity", "status")
EXPRESSIONS = ("alerts", "labels", "links")
TABLES = ("severity_map", "extra_labels")
DEFAULT_RECOVERY_VALUES = ("resolved", "recovered", "ok")
KNOWN_FIELDS = (*EXPRESSIONS[:1], *TEMPLATES, *EXPRESSIONS[1:], *TABLES)
KNOWN_FIELDS += ("default_severity", "recovery_values")

DEFAULT_OPTIONS: dict[str, Any] = {
    "alerts": "",
    "title": "{{ alert.title }}",
    "description": "{{ alert.description }}",
    "alert_key": "",
    "severity": "{{ alert.severity }}",
    "severity_map": {},
    "default_severity": Severity.WARNING.value,
    "status": "{{ alert.status }}",
    "recovery_values": list(DEFAULT_RECOVERY_VALUES),
    "labels": "alert.labels",
    "extra_labels": {},
    "links": "",
}


class MappingProblem(NamedTuple):
    """One thing wrong with a mapping: the field it is in and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class CompiledMapping:
    """A checked mapping, its templates and expressions compiled (``None`` where unset)."""

    alerts: Any
    title: Any
    description: Any
    alert_key: Any
    severity: Any
    status: Any
    labels: Any
    links: Any
    extra_labels: tuple[tuple[str, Any], ...]
    severity_map: dict[str, Severity]
    default_severity: Severity
    recovery_values: frozenset[str]


def problems(options: Any) -> list[MappingProblem]:
    """Everything wrong with ``options`` (empty when it is a usable mapping)."""
    if not isinstance(options, dict):
        return [MappingProblem("options", f"must be a JSON object, not {json_type(options)}")]
    found = [
        MappingProblem(key, "is not a field of a custom webhook mapping")
        for key in options
        if key not in KNOWN_FIELDS
    ]
    merged = {**DEFAULT_OPTIONS, **options}
    for name in TEMPLATES:
        found += _source_problems(name, merged[name], expression=False)
    for name in EXPRESSIONS:
        found += _source_problems(name, merged[name], expression=True)
    if isinstance(merged["title"], str) and not merged["title"].strip():
        found.append(MappingProblem("title", "is required: every alert needs a title"))
    found += _severity_problems(merged)
    found += _recovery_problems(merged["recovery_values"])
    found += _extra_label_problems(merged["extra_labels"])
    return found


def cleaned(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with every field present (the defaults filled in), blanks trimmed."""
    merged = {**DEFAULT_OPTIONS, **options}
    for name in EXPRESSIONS:
        merged[name] = merged[name].strip()
    merged["recovery_values"] = [value.strip() for value in merged["recovery_values"]]
    return merged


def compile_mapping(options: Mapping[str, Any]) -> CompiledMapping:
    """The compiled form of a mapping that :func:`problems` accepts (cached by content, so a
    push compiles nothing once its source's mapping has been seen)."""
    return _compile(json.dumps(cleaned(options), sort_keys=True))


@lru_cache(maxsize=256)
def _compile(frozen: str) -> CompiledMapping:
    options = json.loads(frozen)
    return CompiledMapping(
        alerts=_expression(options["alerts"]),
        title=_template(options["title"]),
        description=_template(options["description"]),
        alert_key=_template(options["alert_key"]),
        severity=_template(options["severity"]),
        status=_template(options["status"]),
        labels=_expression(options["labels"]),
        links=_expression(options["links"]),
        extra_labels=tuple(
            (key, _template(source)) for key, source in options["extra_labels"].items()
        ),
        severity_map={
            str(raw).strip().lower(): Severity(value)
            for raw, value in options["severity_map"].items()
        },
        default_severity=Severity(options["default_severity"]),
        recovery_values=frozenset(v.lower() for v in options["recovery_values"] if v),
    )


def _template(source: str) -> Compiled | None:
    return ENVIRONMENT.compile_template(source) if source.strip() else None


def _expression(source: str) -> Compiled | None:
    return ENVIRONMENT.compile_value(source.strip()) if source.strip() else None


# --- checks ------------------------------------------------------------------------------------


def _source_problems(name: str, source: Any, *, expression: bool) -> list[MappingProblem]:
    if not isinstance(source, str):
        return [MappingProblem(name, f"must be a string, not {json_type(source)}")]
    if len(source) > MAX_SOURCE_CHARS:
        return [
            MappingProblem(
                name, f"is {len(source)} characters long; at most {MAX_SOURCE_CHARS} are allowed"
            )
        ]
    try:
        _expression(source) if expression else _template(source)
    except TemplateSyntaxError as error:
        return [MappingProblem(name, _syntax_message(error, expression=expression))]
    return []


def _syntax_message(error: TemplateSyntaxError, *, expression: bool) -> str:
    kind = "expression" if expression else "template"
    return f"{kind} syntax error at line {error.lineno}: {error.message}"


def _severity_problems(options: dict[str, Any]) -> list[MappingProblem]:
    found = []
    default = options["default_severity"]
    if default not in Severity.values:
        found.append(
            MappingProblem(
                "default_severity", f"must be one of {', '.join(Severity.values)}, not {default!r}"
            )
        )
    table = options["severity_map"]
    if not isinstance(table, dict):
        problem = MappingProblem("severity_map", f"must be an object, not {json_type(table)}")
        return [*found, problem]
    if len(table) > MAX_TABLE_ENTRIES:
        found.append(MappingProblem("severity_map", f"has more than {MAX_TABLE_ENTRIES} entries"))
    for raw, value in table.items():
        if not raw.strip() or len(raw) > MAX_TABLE_KEY_CHARS:
            found.append(
                MappingProblem(
                    "severity_map",
                    f"sender values must be 1 to {MAX_TABLE_KEY_CHARS} characters: {raw[:40]!r}",
                )
            )
        if value not in Severity.values:
            found.append(
                MappingProblem(
                    "severity_map",
                    f"{raw!r} maps to {value!r}; use one of {', '.join(Severity.values)}",
                )
            )
    return found


def _recovery_problems(values: Any) -> list[MappingProblem]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        return [MappingProblem("recovery_values", "must be a list of strings")]
    if len(values) > MAX_TABLE_ENTRIES:
        return [MappingProblem("recovery_values", f"has more than {MAX_TABLE_ENTRIES} values")]
    return []


def _extra_label_problems(table: Any) -> list[MappingProblem]:
    if not isinstance(table, dict):
        return [MappingProblem("extra_labels", f"must be an object, not {json_type(table)}")]
    if len(table) > MAX_LABELS:
        return [MappingProblem("extra_labels", f"has more than {MAX_LABELS} labels")]
    found = []
    for key, source in table.items():
        if not key.strip() or len(key) > MAX_LABEL_KEY_CHARS:
            found.append(
                MappingProblem(
                    "extra_labels", f"label names must be 1 to {MAX_LABEL_KEY_CHARS} characters"
                )
            )
        found += _source_problems(f"extra_labels.{key}", source, expression=False)
    return found
