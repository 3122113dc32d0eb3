"""A source kind's declared options (``SourceKind.declared_options``) as plain fields on the
alert source page, instead of the options' JSON: scalars as ordinary fields, lists of words as
rows (``oncall.admin.structured``). The stored ``AlertSource.options`` keep the shape the REST
API reads and writes; the kind's own ``clean_options`` checks them, and a problem is shown at
the option that has it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

from oncall.admin.structured import Column, Row, RowsField, TextListField
from oncall.events import Severity
from oncall.sources import DeclaredOption, OptionsForm, OptionType, SourceKind


class SeverityWordsField(RowsField):
    """Words per severity (``{"critical": ["p1", "down"], ...}``), one (word, severity) a
    row: an admin adds a word and picks its severity."""

    empty = dict
    columns = (
        Column("word", gettext_lazy("Word"), placeholder="down"),
        Column("severity", gettext_lazy("Severity"), choices=Severity.choices),
    )
    add_label = gettext_lazy("Add a word")

    def to_rows(self, value: Any) -> list[Row]:
        return [
            {"word": str(word), "severity": str(severity)}
            for severity, words in value.items()
            for word in words
        ]

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        problems: dict[int, str] = {}
        words: dict[str, list[str]] = {}
        seen: set[str] = set()
        for index, row in enumerate(rows):
            word, severity = row.get("word", "").strip(), row.get("severity", "")
            if not word:
                problems[index] = gettext("Enter a word.")
            elif severity not in Severity.values:
                problems[index] = gettext("Choose one of the values offered.")
            elif word.casefold() in seen:
                problems[index] = gettext("This one is already in the list.")
            else:
                seen.add(word.casefold())
                words.setdefault(severity, []).append(word)
        return words, problems


def option_field(option: DeclaredOption) -> forms.Field:
    """The form field that edits ``option``."""
    common = {"label": option.label, "help_text": option.help_text}
    match option.type:
        case OptionType.WHOLE_NUMBER:
            return forms.IntegerField(**common)
        case OptionType.YES_NO:
            return forms.BooleanField(required=False, **common)
        case OptionType.CHOICE:
            return forms.ChoiceField(choices=list(option.choices), **common)
        case OptionType.WORDS:
            return TextListField(
                item_label=gettext_lazy("Word"),
                add_label=gettext_lazy("Add a word"),
                check=_word_problem,
                **common,
            )
        case OptionType.SEVERITY_WORDS:
            return SeverityWordsField(**common)
    return forms.CharField(required=False, strip=True, **common)


def _word_problem(word: str) -> str | None:
    return None if word.strip() else gettext("Enter a word.")


class DeclaredOptionsForm(OptionsForm):
    """The fields of a kind's declared options (made by :func:`declared_options_form`)."""

    kind: ClassVar[SourceKind]
    declared: ClassVar[Sequence[DeclaredOption]] = ()

    @classmethod
    def initial_from(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        stored = {**cls.kind.default_options(), **(options or {})}
        return {option.name: stored.get(option.name) for option in cls.declared}

    @classmethod
    def options_from(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        options = {option.name: values.get(option.name) for option in cls.declared}
        try:
            return cls.kind.clean_options(options)
        except ValidationError as error:
            raise ValidationError(cls._at_fault(options, error)) from None

    @classmethod
    def _at_fault(cls, options: dict[str, Any], error: ValidationError) -> dict[str, list[str]]:
        """The kind's reasons at the options that cause them: each option is checked alone,
        with the others at their defaults (a kind's ``clean_options`` says why, not where)."""
        faults: dict[str, list[str]] = {}
        for option in cls.declared:
            try:
                cls.kind.clean_options(
                    {**cls.kind.default_options(), option.name: options[option.name]}
                )
            except ValidationError as alone:
                faults[option.name] = alone.messages
        return faults or {"__all__": error.messages}


def declared_options_form(kind: SourceKind) -> type[OptionsForm] | None:
    """A form with one field per option ``kind`` declares; ``None`` if it declares none."""
    declared = tuple(kind.declared_options())
    if not declared:
        return None
    fields = {option.name: option_field(option) for option in declared}
    name = f"{type(kind).__name__}OptionsForm"
    return type(name, (DeclaredOptionsForm,), {**fields, "kind": kind, "declared": declared})


def options_form_of(kind: SourceKind) -> type[OptionsForm] | None:
    """The kind's own options form, else its declared options' fields, else ``None`` (the
    options' JSON)."""
    return kind.options_form() or declared_options_form(kind)
