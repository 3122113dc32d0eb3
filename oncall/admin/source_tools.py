"""The alert source page's tools: a kind's plain option fields (a mapping editor) in place of
the options' JSON, "Try on a sample" (a pasted body read with the options on the page, before
saving), and the table of the source's refused pushes."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from oncall import ingest, jsonbody
from oncall.events import PayloadError
from oncall.models import AlertSource, RefusedPush
from oncall.sources import OptionsForm, SourceKind, SourceRefused, source_kind

# The kind's option fields are named ``option_<name>`` in the source's form.
OPTION_PREFIX = "option_"
# A sample may be as big as a push; its events are shown up to this many.
PREVIEW_EVENTS = 50


class OptionFieldsMixin(forms.ModelForm):
    """Turns the kind's option fields into ``AlertSource.options`` when the form is cleaned
    (``options_form`` is set by :func:`form_with_option_fields`)."""

    options_form: ClassVar[type[OptionsForm] | None] = None
    composed_options: dict[str, Any] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options_form is not None and not self.is_bound:
            for name, value in self.options_form.initial_from(self.instance.options).items():
                self.initial[OPTION_PREFIX + name] = value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.options_form is not None:
            self._compose_options(cleaned)
        return cleaned

    def _compose_options(self, cleaned: dict[str, Any]) -> None:
        new_kind = cleaned.get("kind")
        if new_kind and new_kind != self.instance.kind:
            # The fields are the old kind's: a new kind starts from its own defaults.
            self.instance.options = source_kind(new_kind).default_options()
            return
        names = list(self.options_form.base_fields)
        if any(OPTION_PREFIX + name in self.errors for name in names):
            return  # a field's own check failed: it says why
        values = {name: cleaned.get(OPTION_PREFIX + name) for name in names}
        try:
            options = self.options_form.options_from(values)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                field = OPTION_PREFIX + name
                self.add_error(field if field in self.fields else None, messages)
            return
        # Set only when valid, so that the model's own check of its options never fails on a
        # field this form does not show.
        self.composed_options = self.instance.options = options

    def posted_options(self, kind: SourceKind) -> dict[str, Any]:
        """The options this bound form says, checked by the kind; ``ValidationError`` naming
        the fields otherwise (the page's "Try on a sample")."""
        if self.options_form is None:
            if "options" in self.errors:
                raise ValidationError({"options": self.errors["options"]})
            return kind.clean_options(self.cleaned_data.get("options"))
        errors = {
            name.removeprefix(OPTION_PREFIX): list(messages)
            for name, messages in self.errors.items()
            if name.startswith(OPTION_PREFIX) or name == "__all__"
        }
        if errors or self.composed_options is None:
            raise ValidationError(errors or {"__all__": [gettext("The options are not valid.")]})
        return self.composed_options


def form_with_option_fields(
    base: type[forms.ModelForm], options_form: type[OptionsForm] | None
) -> type[OptionFieldsMixin]:
    """``base`` with the kind's option fields declared on it (so the admin can lay them out);
    with none, the options stay one JSON field."""
    fields = {
        OPTION_PREFIX + name: copy.deepcopy(field)
        for name, field in (options_form.base_fields.items() if options_form else ())
    }
    return type(
        f"{base.__name__}WithOptions",
        (OptionFieldsMixin, base),
        {**fields, "options_form": options_form},
    )


def option_field_names(options_form: type[OptionsForm]) -> list[str]:
    return [OPTION_PREFIX + name for name in options_form.base_fields]


# --- Try on a sample -------------------------------------------------------------------------


def try_sample_box(url: str) -> SafeString:
    """A box for a pasted body and a button that posts it, with the page's unsaved options,
    to :func:`try_sample_answer` (``oncall/try_box.js``); the textarea has no name, so
    saving the page does not send it."""
    headings = {
        "count": gettext("Events"),
        "title": gettext("Title"),
        "kind": gettext("Status"),
        "severity": gettext("Severity"),
        "raw_severity": gettext("Sent severity"),
        "alert_key": gettext("Alert key"),
        "labels": gettext("Labels"),
        "links": gettext("Links"),
    }
    return format_html(
        '<div class="try-sample" data-try-url="{}" data-try-field="sample" data-try-show="events" '
        'data-headings="{}">'
        '<textarea rows="10" cols="80" class="vLargeTextField" data-try-input '
        'aria-label="{}" placeholder="{}"></textarea>'
        '<p><button type="button" class="button" data-try-run>{}</button></p>'
        '<div class="try-sample-result" data-try-result aria-live="polite"></div></div>',
        url,
        json.dumps(headings, ensure_ascii=False),
        _("Sample body"),
        _("Paste one JSON body the sender posts"),
        _("Test mapping"),
    )


def try_sample_answer(form: OptionFieldsMixin, kind: SourceKind, source: AlertSource, sample: str):
    """What the sample becomes with the form's options: the events, or the reason it gives
    none (``errors`` by option field, or ``error`` with the field a parser names). Always a
    200: the try worked, whatever it found (a 4xx would read as the page's own failure in the
    browser's console)."""
    form.is_valid()  # fills errors and the composed options; nothing is saved
    try:
        options = form.posted_options(kind)
    except ValidationError as error:
        return JsonResponse({"errors": _message_dict(error)})
    if not sample.strip():
        return _refusal(gettext("Paste a sample body first."), "sample")
    try:
        payload = jsonbody.decode(sample).value
    except jsonbody.InvalidJSON as invalid:
        return _refusal(gettext("The sample is not JSON: %s") % invalid.reason, "sample")
    try:
        events = ingest.preview(source, payload, options)
    except PayloadError as error:
        return _refusal(error.message, error.field)
    except SourceRefused as refused:
        return _refusal(refused.message, None)
    shown = [event.to_json() for event in events[:PREVIEW_EVENTS]]
    return JsonResponse({"count": len(events), "events": shown})


def _refusal(message: str, field: str | None) -> JsonResponse:
    return JsonResponse({"error": {"message": message, "field": field}})


def _message_dict(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {name: list(messages) for name, messages in error.message_dict.items()}
    return {"__all__": list(error.messages)}


# --- Recent failures -------------------------------------------------------------------------


def refused_pushes_table(refused: Iterable[RefusedPush]) -> SafeString | str:
    """The refusals with their reason, the field named, and the payload as received (cut to
    ``RefusedPush.MAX_PAYLOAD_BYTES``) behind a disclosure."""
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{} <code>{}</code></td><td>{}{}</td><td><details><summary>{}"
        '</summary><pre class="refused-payload">{}</pre></details></td></tr>',
        (
            (
                localize(localtime(r.received_at)),
                r.status,
                r.code,
                r.message,
                format_html(" <code>{}</code>", r.field) if r.field else "",
                _payload_summary(r),
                r.payload,
            )
            for r in refused
        ),
    )
    if not rows:
        return gettext("No refused pushes.")
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        _("received"),
        _("answer"),
        _("reason"),
        _("payload"),
        rows,
    )


def _payload_summary(refused: RefusedPush) -> str:
    size = {"bytes": refused.body_bytes}
    if not refused.payload:
        return gettext("(not kept: %(bytes)s bytes)") % size
    if refused.payload_truncated:
        return gettext("%(bytes)s bytes, the first 16 KB shown") % size
    return gettext("%(bytes)s bytes") % size
