"""The mapping editor: one plain field per mapping field on the source's admin page, turned into
``AlertSource.options`` (and back) by :class:`MappingForm`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from integrations.sources.custom_webhook import mapping
from oncall.events import Severity
from oncall.sources import OptionsForm


def _text(label: Any, help_text: Any, *, required: bool = False, rows: int = 0) -> forms.Field:
    widget = (
        forms.Textarea(attrs={"rows": rows, "cols": 80})
        if rows
        else forms.TextInput(attrs={"size": 80})
    )
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=required,
        strip=False,
        max_length=mapping.MAX_SOURCE_CHARS,
        widget=widget,
    )


class MappingForm(OptionsForm):
    alerts = _text(
        _("Alerts (expression)"),
        _(
            "The list of alerts in the body, e.g. body.alerts; each element is then `alert`. "
            "Empty: the whole body is one alert."
        ),
    )
    title = _text(
        _("Title (template)"),
        _("e.g. {{ alert.name }} on {{ alert.host }}. Required; must not render empty."),
        required=True,
    )
    description = _text(_("Description (template)"), _("e.g. {{ alert.message }}"), rows=3)
    alert_key = _text(
        _("Alert key (template)"),
        _(
            "The alert's identity, e.g. {{ alert.id }}. Empty: derived from the title and "
            "labels, so a recovery with the same title and labels resolves it."
        ),
    )
    severity = _text(_("Severity (template)"), _("The sender's severity, e.g. {{ alert.level }}"))
    severity_map = _text(
        _("Severity table"),
        _(
            "One per line: sender value = critical, warning or info (case does not matter). "
            "Values not listed: the usual words (critical, P1, warn...), else the default."
        ),
        rows=4,
    )
    default_severity = forms.ChoiceField(
        label=_("Default severity"), choices=Severity.choices, initial=Severity.WARNING
    )
    status = _text(
        _("Status (template)"),
        _("e.g. {{ alert.state }}. Empty: every alert is firing."),
    )
    recovery_values = _text(
        _("Recovery values"),
        _("Comma-separated; a status rendering one of them (any case) resolves the alert."),
    )
    labels = _text(
        _("Labels (expression)"),
        _("An object of labels, e.g. alert.labels or alert.tags. Empty: none."),
    )
    extra_labels = _text(
        _("Extra labels"),
        _("One per line: name = template, e.g. host = {{ alert.host }}. They win over Labels."),
        rows=3,
    )
    links = _text(
        _("Links (expression)"),
        _(
            "A URL, a list of URLs or of {'href': ..., 'text': ...} objects, e.g. "
            "[{'href': alert.url, 'text': 'Dashboard'}]."
        ),
    )

    @classmethod
    def initial_from(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        merged = {**mapping.DEFAULT_OPTIONS, **(options or {})}
        initial = {name: merged[name] for name in (*mapping.TEMPLATES, *mapping.EXPRESSIONS)}
        initial["severity_map"] = _lines(merged["severity_map"])
        initial["extra_labels"] = _lines(merged["extra_labels"])
        initial["recovery_values"] = ", ".join(merged["recovery_values"])
        initial["default_severity"] = merged["default_severity"]
        return initial

    @classmethod
    def options_from(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        options = {name: values.get(name) or "" for name in mapping.TEMPLATES}
        options.update({name: values.get(name) or "" for name in mapping.EXPRESSIONS})
        options["default_severity"] = values.get("default_severity") or Severity.WARNING
        options["recovery_values"] = [
            value.strip() for value in (values.get("recovery_values") or "").split(",")
        ]
        options["recovery_values"] = [value for value in options["recovery_values"] if value]
        for name in ("severity_map", "extra_labels"):
            try:
                options[name] = _pairs(values.get(name) or "")
            except ValidationError as error:
                errors[name] = error.messages
        if "severity_map" in options:
            options["severity_map"] = {k: v.lower() for k, v in options["severity_map"].items()}
        for problem in mapping.problems({k: v for k, v in options.items() if k not in errors}):
            field = problem.field.split(".", 1)[0]
            message = problem.message
            if field != problem.field:  # extra_labels.host: name the label
                message = f"{problem.field.split('.', 1)[1]}: {message}"
            errors.setdefault(field if field in cls.base_fields else "__all__", []).append(message)
        if errors:
            raise ValidationError(errors)
        return mapping.cleaned(options)


def _lines(table: Mapping[str, str]) -> str:
    return "\n".join(f"{key} = {value}" for key, value in table.items())


def _pairs(text: str) -> dict[str, str]:
    pairs = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValidationError(
                _("line %(number)s: write it as name = value"), params={"number": number}
            )
        pairs[key.strip()] = value.strip()
    return pairs
