"""An alert source's pipeline on its admin page: the rules inline, in order, "dropped by pipeline
today", and "try it on a recent event" (``oncall/try_box.js``), which runs the rules as
they are on the page, unsaved, on one of the source's recent events."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from oncall.admin.structured import ConditionField, pipeline_labels_field
from oncall.models import Alert, AlertSource, PipelineRule
from oncall.noise.pipelines import dropped_today, recent_events, try_rules

RECENT_EVENTS = 20


class PipelineRuleForm(forms.ModelForm):
    """The condition and the labels as rows: a rule that removes labels stores their names
    alone (a list), as the API takes them; one that sets them, names and values (a dict)."""

    class Meta:
        model = PipelineRule
        fields = ["condition", "labels"]  # the inline's fields add the rest
        field_classes = {"condition": ConditionField, "labels": pipeline_labels_field}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        labels = cleaned.get("labels")
        if cleaned.get("action") == PipelineRule.Action.REMOVE_LABELS and isinstance(labels, dict):
            cleaned["labels"] = list(labels)
        return cleaned


class PipelineRuleInline(admin.StackedInline):
    model = PipelineRule
    form = PipelineRuleForm
    extra = 0
    fields = [
        "position",
        "name",
        "enabled",
        "condition",
        "action",
        "severity",
        "template",
        "labels",
    ]
    ordering = ["position", "id"]
    verbose_name = _("pipeline rule")
    verbose_name_plural = _("alert pipeline (rules run in position order, before routing)")


def pipeline_summary(source: AlertSource) -> SafeString | str:
    """Dropped today, with a link to those alerts in the alert list."""
    if not source.pk:
        return ""
    url = reverse("admin:oncall_alert_changelist")
    return format_html(
        '{} <a href="{}?source__id__exact={}&amp;suppressed__exact={}">{}</a>',
        gettext("Dropped by pipeline: %(count)s today.") % {"count": dropped_today(source)},
        url,
        source.pk,
        Alert.Suppression.PIPELINE_DROPPED,
        gettext("Alerts dropped by the pipeline"),
    )


def try_pipeline_box(source: AlertSource) -> SafeString | str:
    """A choice of the source's recent events and a button that runs the page's rules on it."""
    if not source.pk:
        return ""
    events = recent_events(source, RECENT_EVENTS)
    if not events:
        return gettext("Nothing received yet: the preview needs an event of this source.")
    options = format_html_join(
        "",
        '<option value="{}">{} · {} · {}</option>',
        ((i, e.title[:80], e.kind.label, e.alert_key[:40]) for i, e in enumerate(events)),
    )
    url = reverse("admin:oncall_alertsource_try_pipeline", args=[source.pk])
    return format_html(
        '<div class="try-pipeline" data-try-url="{}" data-try-field="event" '
        'data-try-show="pipeline">'
        '<select data-try-input aria-label="{}">{}</select> '
        '<button type="button" class="button" data-try-run>{}</button>'
        '<div data-try-result aria-live="polite"></div></div>',
        url,
        gettext("Recent event"),
        options,
        gettext("Try the rules on this event"),
    )


def try_pipeline_answer(
    request: HttpRequest, source: AlertSource, inline: PipelineRuleInline
) -> JsonResponse:
    """The chosen recent event through the rules as posted (the page's inline forms, unsaved):
    before and after, or the problems of the rules, by rule number. Always a 200."""
    formset_class = inline.get_formset(request, source)
    formset = formset_class(
        request.POST, instance=source, prefix=formset_class.get_default_prefix()
    )
    rules = _posted_rules(formset)
    if isinstance(rules, dict):
        return JsonResponse({"errors": rules})
    events = recent_events(source, RECENT_EVENTS)
    try:
        event = events[int(request.POST.get("event", "0"))]
    except (ValueError, IndexError):
        return JsonResponse({"errors": {"event": [gettext("Choose one of the recent events.")]}})
    return JsonResponse(try_rules(rules, event))


def _posted_rules(formset: Any) -> list[PipelineRule] | dict[str, list[str]]:
    if not formset.is_valid():
        errors: dict[str, list[str]] = {}
        for index, form in enumerate(formset.forms, 1):
            for field, messages in form.errors.items():
                errors[f"{index} {field}"] = list(messages)
        errors.update(
            {"__all__": list(formset.non_form_errors())} if formset.non_form_errors() else {}
        )
        return errors or {"__all__": [gettext("The rules could not be read.")]}
    kept = [
        form.instance
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
    return sorted(kept, key=lambda rule: (rule.position, rule.pk or 0))
