"""Structured JSON edited as rows, not typed as JSON: matchers as (key, operator, value) rows,
conditions as the same rows in numbered OR groups, lists of labels or keys as one value a row,
mappings (severity overrides) as pairs.

The stored JSON keeps its shape (``oncall.matchers``, ``oncall.noise.conditions``): each form
field turns posted rows into exactly the value an API client would send, and a stored value
back into rows. A problem is shown at the row that has it (the field notes, in ``clean``, which
row; the widget draws the message in that row) with a summary on the field.

The widget is plain server-rendered inputs that repeat one name per column (read back with
``getlist``, in order) and ``oncall/rows.js`` for "add" and "remove" (no build step). The blank
row it copies is in the page, hidden and disabled (a disabled input is not posted), so that
Django's inline "add another" renames it with the rest of the inline's form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext_lazy

from oncall.events import Severity
from oncall.matchers import FIELDS, MAX_REGEX_CHARS, VALUELESS_OPS, Op, parse_matchers, valid_key
from oncall.models.schedules import parse_restrictions

Row = dict[str, str]


@dataclass(frozen=True)
class Column:
    """One input of each row: ``choices`` makes it a select, ``number`` a number input."""

    name: str
    label: Any
    choices: Sequence[tuple[str, Any]] = ()
    number: bool = False
    placeholder: Any = ""
    suggestions: Sequence[str] = ()  # a datalist for a text input


class RowsWidget(forms.Widget):
    """Rows of ``columns`` with "add" and "remove" buttons. Its value is a list of rows
    (``{column: text}``); ``row_errors`` (row index -> message) is set by the field's
    ``clean`` for the next render."""

    class Media:
        js = ["oncall/rows.js"]
        css = {"all": ["oncall/admin.css"]}

    def __init__(
        self,
        columns: Sequence[Column] = (),
        add_label: Any = None,
        attrs: dict | None = None,
    ) -> None:
        super().__init__(attrs)
        self.columns = tuple(columns)
        self.add_label = add_label or gettext_lazy("Add a row")
        self.row_errors: dict[int, str] = {}

    def __deepcopy__(self, memo: dict) -> RowsWidget:
        # Each form gets its own widget: its row errors are its own.
        copy = super().__deepcopy__(memo)
        copy.row_errors = {}
        return copy

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[Row] | None:
        if f"{name}-rows" not in data:
            return None
        columns = [data.getlist(f"{name}-{c.name}") for c in self.columns]
        rows = []
        # A column a client left out (a script posting no group numbers) reads as empty.
        for values in zip_longest(*columns, fillvalue=""):
            row = {c.name: v.strip() for c, v in zip(self.columns, values, strict=True)}
            if any(row.values()):
                rows.append(row)
        return rows

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-rows" not in data

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        rows = value if isinstance(value, list) else []
        element_id = (attrs or {}).get("id") or self.attrs.get("id") or name
        lists = self._datalists(element_id)
        body = format_html_join(
            "",
            "{}",
            ((self._row(name, element_id, r, self.row_errors.get(i)),) for i, r in enumerate(rows)),
        )
        blank = self._row(name, element_id, {}, None, blank=True)
        head = format_html_join("", '<th scope="col">{}</th>', ((c.label,) for c in self.columns))
        return format_html(
            '<div class="rows-editor" id="{}" data-rows><input type="hidden" name="{}-rows" '
            'value="1"><table><thead><tr>{}<th></th></tr></thead><tbody>{}{}</tbody></table>'
            '<button type="button" class="button" data-rows-add>{}</button>{}</div>',
            element_id,
            name,
            head,
            body,
            blank,
            self.add_label,
            lists,
        )

    def _row(
        self, name: str, element_id: str, row: Row, error: str | None, blank: bool = False
    ) -> SafeString:
        cells = format_html_join(
            "",
            "<td>{}</td>",
            ((self._input(name, element_id, c, row.get(c.name, ""), blank),) for c in self.columns),
        )
        problem = format_html('<ul class="errorlist"><li>{}</li></ul>', error) if error else ""
        return format_html(
            '<tr{}{}>{}<td><button type="button" class="button" data-rows-remove>{}</button>{}'
            "</td></tr>",
            SafeString(" hidden data-rows-blank") if blank else "",
            SafeString(' class="row-with-error"') if error else "",
            cells,
            gettext("Remove"),
            problem,
        )

    def _input(self, name: str, element_id: str, column: Column, value: Any, blank: bool) -> str:
        disabled = SafeString(" disabled") if blank else ""
        input_name = f"{name}-{column.name}"
        if column.choices:
            options = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (key, SafeString(" selected") if str(key) == str(value) else "", label)
                    for key, label in column.choices
                ),
            )
            return format_html(
                '<select name="{}" aria-label="{}"{}>{}</select>',
                input_name,
                column.label,
                disabled,
                options,
            )
        kind = "number" if column.number else "text"
        datalist = (
            format_html(' list="{}-{}-list"', element_id, column.name) if column.suggestions else ""
        )
        return format_html(
            '<input type="{}" name="{}" value="{}" aria-label="{}" placeholder="{}"{}{}>',
            kind,
            input_name,
            "" if value is None else value,
            column.label,
            column.placeholder,
            datalist,
            disabled,
        )

    def _datalists(self, element_id: str) -> SafeString:
        return format_html_join(
            "",
            '<datalist id="{}-{}-list">{}</datalist>',
            (
                (
                    element_id,
                    c.name,
                    format_html_join("", '<option value="{}">', ((s,) for s in c.suggestions)),
                )
                for c in self.columns
                if c.suggestions
            ),
        )


class RowsField(forms.Field):
    """A JSON value edited as rows: subclasses say how a value becomes rows (``to_rows``)
    and rows become the value (``from_rows``, which reports problems by row index)."""

    columns: Sequence[Column] = ()
    add_label: Any = gettext_lazy("Add a row")
    empty: Callable[[], Any] = list
    # Said instead of the model field's help text, which shows the JSON shape.
    rows_help: Any = None

    def __init__(self, **kwargs: Any) -> None:
        # A model JSONField's formfield() passes its encoder and decoder (``Meta.field_classes``
        # builds these fields from the model's, with its label and help text).
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        # A callable model default (``default=list``) asks for the initial value in a hidden
        # input, which a rows editor has no text for: changes are told from ``initial``.
        kwargs.pop("show_hidden_initial", None)
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", RowsWidget(self.columns, self.add_label))
        if self.rows_help:
            kwargs["help_text"] = self.rows_help
        super().__init__(**kwargs)

    def to_rows(self, value: Any) -> list[Row]:
        raise NotImplementedError

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        raise NotImplementedError

    def prepare_value(self, value: Any) -> list[Row]:
        if isinstance(value, str):  # a model's default, or a value read as text
            try:
                value = json.loads(value)
            except ValueError:
                return []
        if value in (None, "") or (isinstance(value, list) and _are_rows(value, self.columns)):
            return value or []
        try:
            return self.to_rows(value)
        except (TypeError, ValueError, AttributeError):
            return []

    def to_python(self, rows: Any) -> Any:
        if rows is None:
            return self.empty()
        if not (isinstance(rows, list) and _are_rows(rows, self.columns)):
            rows = self.prepare_value(rows)  # a stored value (an initial one), not posted rows
        value, problems = self.from_rows(rows)
        self.widget.row_errors = problems
        if problems:
            raise ValidationError(
                ngettext(
                    "Correct the row marked below.",
                    "Correct the %(count)d rows marked below.",
                    len(problems),
                )
                % {"count": len(problems)},
                code="rows",
            )
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial if initial is not None else self.empty())
        except ValidationError:
            return True

    def bound_data(self, data: Any, initial: Any) -> Any:
        return initial if data is None else data


def _are_rows(value: list, columns: Sequence[Column]) -> bool:
    names = {c.name for c in columns}
    return all(isinstance(item, dict) and set(item) <= names for item in value) and all(
        all(isinstance(v, str) for v in item.values()) for item in value
    )


# --- Matchers and conditions -----------------------------------------------------------------


KEY_SUGGESTIONS = ("labels.", *FIELDS)
MATCHER_COLUMNS = (
    Column(
        "key",
        gettext_lazy("Key"),
        placeholder="labels.env",
        suggestions=KEY_SUGGESTIONS,
    ),
    Column("op", gettext_lazy("Operator"), choices=Op.choices),
    Column("value", gettext_lazy("Value"), placeholder="prod"),
)


def matcher_problem(row: Row) -> str | None:
    """Why one matcher row cannot be saved, in words, or None."""
    key, op, value = row.get("key", ""), row.get("op", ""), row.get("value", "")
    if not valid_key(key):
        return gettext("The key must be labels.<name> or one of %(fields)s.") % {
            "fields": ", ".join(FIELDS)
        }
    if op not in Op.values:
        return gettext("Choose an operator.")
    if op in (Op.REGEX, Op.NOT_REGEX):
        if len(value) > MAX_REGEX_CHARS:
            return gettext("The regular expression is longer than %(max)d characters.") % {
                "max": MAX_REGEX_CHARS
            }
        try:
            re.compile(value)
        except re.error as exc:
            return gettext("Not a valid regular expression: %(error)s.") % {"error": exc}
    try:
        parse_matchers([_matcher(row)])
    except ValidationError as exc:  # anything the rules above do not say in their own words
        return " ".join(exc.messages)
    return None


def _matcher(row: Row) -> dict[str, str]:
    op = row.get("op", "")
    return {
        "key": row.get("key", ""),
        "op": op,
        "value": "" if op in VALUELESS_OPS else row.get("value", ""),
    }


def _matcher_row(matcher: dict[str, Any], group: int | None = None) -> Row:
    row = {
        "key": str(matcher.get("key", "")),
        "op": str(matcher.get("op", Op.EQUALS)),
        "value": str(matcher.get("value", "")),
    }
    return row if group is None else {"group": str(group), **row}


class MatchersField(RowsField):
    """``[{"key": "labels.env", "op": "eq", "value": "prod"}, ...]``: all must hold."""

    columns = MATCHER_COLUMNS
    add_label = gettext_lazy("Add a matcher")
    rows_help = gettext_lazy(
        "Every row must hold; no rows: any. Keys: labels.<name>, title, description, severity, "
        "alert_key. A regular expression must match the whole value."
    )

    def to_rows(self, value: Any) -> list[Row]:
        return [_matcher_row(m) for m in value]

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        problems = {i: p for i, row in enumerate(rows) if (p := matcher_problem(row))}
        return [_matcher(row) for row in rows], problems


class ConditionField(RowsField):
    """A condition (``oncall.noise.conditions``): matchers in numbered groups, all of a group
    must hold and one group must. One group is stored as the flat list routes use; several
    as a list of lists, in group order."""

    columns = (
        Column("group", gettext_lazy("Group (OR)"), number=True, placeholder="1"),
        *MATCHER_COLUMNS,
    )
    add_label = gettext_lazy("Add a matcher")
    rows_help = gettext_lazy(
        "Every row of a group must hold, and one group must (OR between groups); no rows: "
        "any. Keys: labels.<name>, title, description, severity, alert_key."
    )

    def to_rows(self, value: Any) -> list[Row]:
        return condition_rows(value)

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        return condition_from_rows(rows)


def condition_rows(value: Any) -> list[Row]:
    """A stored condition as rows with their group numbers."""
    if all(isinstance(item, dict) for item in value):
        return [_matcher_row(m, 1) for m in value]
    return [_matcher_row(m, n) for n, group in enumerate(value, 1) for m in group]


def condition_from_rows(rows: list[Row]) -> tuple[Any, dict[int, str]]:
    """Rows as a condition: one group as a flat list, several as a list of lists."""
    problems: dict[int, str] = {}
    groups: dict[int, list[dict[str, str]]] = {}
    for index, row in enumerate(rows):
        group = row.get("group") or "1"
        if not group.isdigit() or int(group) < 1:
            problems[index] = gettext("The group is a number from 1.")
            continue
        if problem := matcher_problem(row):
            problems[index] = problem
        groups.setdefault(int(group), []).append(_matcher(row))
    ordered = [groups[n] for n in sorted(groups)]
    return (ordered[0] if len(ordered) == 1 else ordered), problems


class BranchesField(RowsField):
    """A channel's grouping branches (``oncall.noise.grouping``): rows of a numbered branch,
    the labels it groups by, and its condition's matchers in OR groups (as
    :class:`ConditionField`'s). The rows of one branch name its labels once or alike on each
    row; branches keep their numbers' order, the order they are tried in."""

    columns = (
        Column("branch", gettext_lazy("Branch"), number=True, placeholder="1"),
        Column("group_by", gettext_lazy("Group by labels"), placeholder="k8s_cluster"),
        *ConditionField.columns,
    )
    add_label = gettext_lazy("Add a matcher")
    rows_help = gettext_lazy(
        "Alerts that match a branch's condition are grouped by its labels instead of the "
        "channel's; branches are tried in their numbers' order and the first that holds "
        "counts. A branch's rows share its number: each row one matcher (every row of a group "
        "must hold, and one group must), the labels (separated by spaces) on any of them."
    )

    def to_rows(self, value: Any) -> list[Row]:
        rows = []
        for number, branch in enumerate(value, 1):
            labels = " ".join(branch.get("group_by", []))
            for row in condition_rows(branch.get("condition") or []):
                rows.append({"branch": str(number), "group_by": labels, **row})
        return rows

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        problems: dict[int, str] = {}
        branches: dict[int, dict[str, Any]] = {}
        for index, row in enumerate(rows):
            number = row.get("branch") or "1"
            if not number.isdigit() or int(number) < 1:
                problems[index] = gettext("The branch is a number from 1.")
                continue
            branch = branches.setdefault(int(number), {"labels": [], "rows": [], "first": index})
            labels = row.get("group_by", "").replace(",", " ").split()
            if labels and branch["labels"] and labels != branch["labels"]:
                problems[index] = gettext("Another row of this branch groups by other labels.")
            branch["labels"] = branch["labels"] or labels
            branch["rows"].append((index, row))
        value = []
        for number in sorted(branches):
            branch = branches[number]
            if not branch["labels"]:
                problems.setdefault(
                    branch["first"], gettext("Give the branch the labels to group by.")
                )
            condition, found = condition_from_rows([row for _, row in branch["rows"]])
            for position, problem in found.items():
                problems.setdefault(branch["rows"][position][0], problem)
            value.append({"condition": condition, "group_by": branch["labels"]})
        return value, problems


# --- Lists and mappings ------------------------------------------------------------------------


class TextListField(RowsField):
    """A list of words, one a row (labels to group by, keys that must be equal)."""

    def __init__(
        self,
        *,
        item_label: Any,
        add_label: Any,
        check: Callable[[str], str | None] = lambda item: None,
        placeholder: str = "",
        rows_help: Any = None,
        **kwargs: Any,
    ) -> None:
        self.columns = (Column("item", item_label, placeholder=placeholder),)
        self.add_label = add_label
        self.check = check
        self.rows_help = rows_help
        super().__init__(**kwargs)

    def to_rows(self, value: Any) -> list[Row]:
        return [{"item": str(item)} for item in value]

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        items = [row.get("item", "") for row in rows]
        problems = {i: p for i, item in enumerate(items) if (p := self.check(item))}
        for index, item in enumerate(items):
            if index not in problems and item in items[:index]:
                problems[index] = gettext("This one is already in the list.")
        return items, problems


class NumberListField(TextListField):
    """A list of whole numbers, one a row (alert counts of a storm warning)."""

    def __init__(self, *, minimum: int, **kwargs: Any) -> None:
        self.minimum = minimum
        super().__init__(**kwargs)
        self.columns = (Column("item", self.columns[0].label, number=True),)
        self.widget.columns = self.columns

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        items, problems = super().from_rows(rows)
        numbers: list[int] = []
        for index, item in enumerate(items):
            if not item.isdigit() or int(item) < self.minimum:
                problems.setdefault(
                    index,
                    gettext("Enter a whole number of at least %(minimum)d.")
                    % {"minimum": self.minimum},
                )
            else:
                numbers.append(int(item))
        return numbers, problems


class PairsField(RowsField):
    """A mapping, one (key, value) pair a row; the value a choice when ``choices`` is given."""

    empty = dict

    def __init__(
        self,
        *,
        key_label: Any,
        value_label: Any,
        add_label: Any,
        choices: Sequence[tuple[str, Any]] = (),
        key_placeholder: str = "",
        rows_help: Any = None,
        **kwargs: Any,
    ) -> None:
        self.columns = (
            Column("key", key_label, placeholder=key_placeholder),
            Column("value", value_label, choices=choices),
        )
        self.add_label = add_label
        self.rows_help = rows_help
        self.allowed = {str(key) for key, _label in choices}
        super().__init__(**kwargs)

    def to_rows(self, value: Any) -> list[Row]:
        if isinstance(value, list):  # names alone (labels a pipeline rule removes)
            return [{"key": str(name), "value": ""} for name in value]
        return [{"key": str(k), "value": str(v)} for k, v in value.items()]

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        problems: dict[int, str] = {}
        pairs: dict[str, str] = {}
        for index, row in enumerate(rows):
            key = row.get("key", "")
            if not key:
                problems[index] = gettext("Enter a key.")
            elif key in pairs:
                problems[index] = gettext("This key is already in the list.")
            elif self.allowed and row.get("value", "") not in self.allowed:
                problems[index] = gettext("Choose one of the values offered.")
            pairs[key] = row.get("value", "")
        return pairs, problems


class RestrictionsField(RowsField):
    """A schedule layer's restrictions (``oncall.models.schedules.parse_restrictions``): one
    window a row, its days written as numbers and ranges (``0-4`` is Monday to Friday)."""

    columns = (
        Column("days", gettext_lazy("Days (0 = Monday ... 6 = Sunday)"), placeholder="0-4"),
        Column("start", pgettext_lazy("time window", "From"), placeholder="09:00"),
        Column("end", pgettext_lazy("time window", "Until"), placeholder="18:00"),
    )
    add_label = gettext_lazy("Add a window")
    rows_help = gettext_lazy(
        "Turns count only inside these windows (times in the schedule's zone); an end before "
        "the start crosses midnight, an end equal to it is the whole day. No rows: always."
    )

    def to_rows(self, value: Any) -> list[Row]:
        return [
            {"days": _day_ranges(window["days"]), "start": window["start"], "end": window["end"]}
            for window in value
        ]

    def from_rows(self, rows: list[Row]) -> tuple[Any, dict[int, str]]:
        windows: list[dict[str, Any]] = []
        problems: dict[int, str] = {}
        for index, row in enumerate(rows):
            days = _days(row.get("days", ""))
            if days is None:
                problems[index] = gettext("Write days as numbers from 0 to 6, or ranges (0-4).")
                continue
            window = {"days": days, "start": row.get("start", ""), "end": row.get("end", "")}
            try:
                parse_restrictions([window])
            except ValidationError as error:
                problems[index] = " ".join(error.messages)
            windows.append(window)
        return windows, problems


def _days(text: str) -> list[int] | None:
    """``"0-4 6"`` as ``[0, 1, 2, 3, 4, 6]``; None when it is not such a list."""
    days: set[int] = set()
    for part in text.replace(",", " ").split():
        first, _dash, last = part.partition("-")
        if not (first.isdigit() and (last or first).isdigit()):
            return None
        low, high = int(first), int(last or first)
        if not 0 <= low <= high <= 6:
            return None
        days.update(range(low, high + 1))
    return sorted(days)


def _day_ranges(days: Any) -> str:
    """``[0, 1, 2, 3, 4, 6]`` as ``"0-4 6"``."""
    numbers = sorted({int(day) for day in days})
    runs: list[list[int]] = []
    for day in numbers:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return " ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)


# --- The console's fields, for ``Meta.field_classes`` (called like a field class) --------------


def severity_overrides_field(**kwargs: Any) -> PairsField:
    """The sender's own severity words, each mapped to one of the console's severities."""
    return PairsField(
        key_label=gettext_lazy("Sender's severity"),
        value_label=gettext_lazy("Console severity"),
        add_label=gettext_lazy("Add a severity"),
        choices=Severity.choices,
        key_placeholder="P1",
        rows_help=gettext_lazy(
            "Map the sender's own severity words to the console's; applied after the default "
            "mapping."
        ),
        **kwargs,
    )


def pipeline_labels_field(**kwargs: Any) -> PairsField:
    """A pipeline rule's labels: names with values (templates) to set, or names to remove
    (``PipelineRuleForm`` keeps the names alone for "remove labels")."""
    return PairsField(
        key_label=gettext_lazy("Label"),
        value_label=gettext_lazy("Value (a template)"),
        add_label=gettext_lazy("Add a label"),
        key_placeholder="team",
        rows_help=gettext_lazy(
            "Add or change labels: a value for each (a template such as {{ Labels.dc }}). "
            "Remove labels: the names alone."
        ),
        **kwargs,
    )


def label_names_field(**kwargs: Any) -> TextListField:
    """Label names, one a row (a channel's group-by labels)."""
    return TextListField(
        item_label=gettext_lazy("Label"),
        add_label=gettext_lazy("Add a label"),
        check=_label_name_problem,
        placeholder="alertname",
        **kwargs,
    )


def keys_field(**kwargs: Any) -> TextListField:
    """Keys as matchers name them, one a row (an inhibition rule's equal keys)."""
    return TextListField(
        item_label=gettext_lazy("Key"),
        add_label=gettext_lazy("Add a key"),
        check=_key_problem,
        placeholder="labels.host",
        rows_help=gettext_lazy(
            "Keys whose values must be equal in both alerts; a key missing from both counts "
            "as equal."
        ),
        **kwargs,
    )


def alert_counts_field(**kwargs: Any) -> NumberListField:
    """Alert counts of at least 2, one a row (a channel's storm warnings)."""
    return NumberListField(
        minimum=2,
        item_label=gettext_lazy("Alert count"),
        add_label=gettext_lazy("Add an alert count"),
        **kwargs,
    )


def _label_name_problem(name: str) -> str | None:
    return None if name else gettext("Enter a label name.")


def _key_problem(key: str) -> str | None:
    if valid_key(key):
        return None
    return gettext("The key must be labels.<name> or one of %(fields)s.") % {
        "fields": ", ".join(FIELDS)
    }
