"""Alert pipelines: a source's ordered rules that change or drop its events as they arrive.

Where. A pipeline belongs to an alert source (its integration layer, as the knowledge base has
it) and runs when a push is accepted (``oncall.ingest.accept``), before routing: a label a rule
adds can choose the channel. The rules are read once per push, and each rule runs on what the
rules before it made of the event.

Compiled once. A process keeps each source's compiled rules for the source's
``pipeline_version``, which every write of its rules changes: the push reads the source's row
anyway, so a push whose rules did not change costs no query and no compiling for them.

What a rule does. Its condition (``oncall.noise.conditions``: matchers on severity,
title, description, alert_key and labels, AND within a group, OR between groups) decides
whether its action applies: set the severity, rewrite the title or the description (a template
over the event, in the console's template sandbox: ``{{ Labels.host }}``, ``{{ Title }}``),
add / change labels (values are templates) or remove labels, or drop the event.

Recoveries. A recovery goes through the rules too, so that it is routed as its firing event
was, but no rule drops it: it must reach the alert it recovers, which a dropped firing event
left in the alert list marked "dropped by pipeline" (``oncall.merge``).

Traces. Every event carries the rules that changed it (``AlertEvent.pipeline``), stored with
the push and copied onto its alert, so that the alert says why its title is not what the
sender sent. A rule whose template fails at run time (its time budget, say) leaves the event
as it was and is logged: an alert is never lost to a rule's mistake.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_KEY_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_LABELS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PipelineStep,
    Severity,
)
from oncall.matchers import subject_of
from oncall.models import Alert, AlertSource, InboundEvent, PipelineRule
from oncall.noise.compiled import PerVersion
from oncall.noise.conditions import Condition, parse_condition
from oncall.noise.silences import Verdict
from oncall.notify.context import template_severity
from oncall.notify.engine import Medium, TemplateFailure, compile_body, render, unknown_names
from oncall.notify.functions import functions

logger = logging.getLogger(__name__)

Action = PipelineRule.Action
TEXT = {
    Action.SET_TITLE: ("title", MAX_TITLE_CHARS),
    Action.SET_DESCRIPTION: ("description", MAX_DESCRIPTION_CHARS),
}
# A rule's variables (the knowledge base's names; EventSeverity is its alias of Severity).
VARIABLES = ("Title", "Description", "Severity", "EventSeverity", "AlertKey", "Labels", "Status")


def _plain(limit: int) -> Medium:
    return Medium(name="pipeline", label="pipeline", escape=str, max_chars=limit, default="")


# --- Running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRule:
    public_id: str
    name: str
    condition: Condition
    action: str
    severity: str
    template: str
    labels: Any

    def step(self) -> PipelineStep:
        return PipelineStep(rule=self.public_id, name=self.name, action=self.action)


@dataclass(frozen=True)
class Pipeline:
    """A source's enabled rules, in order, read once per push."""

    rules: tuple[CompiledRule, ...] = ()

    @classmethod
    def load(cls, source: AlertSource) -> Pipeline:
        rows = PipelineRule.objects.filter(source=source, enabled=True).order_by("position", "id")
        return cls(tuple(_compiled(rule) for rule in rows))

    @classmethod
    def of(cls, source: AlertSource) -> Pipeline:
        """The source's pipeline as of its ``pipeline_version``: compiled once per version."""
        return _compiled_pipelines.get(source.pk, source.pipeline_version, lambda: cls.load(source))

    def run(self, event: AlertEvent) -> AlertEvent:
        """The event as the rules leave it, with the rules that changed it; ``dropped`` when
        one dropped it (the rules after that one do not run)."""
        steps: list[PipelineStep] = []
        subject = _subject(event)  # built again only when a rule changed the event
        for rule in self.rules:
            if not rule.condition.matches(subject):
                continue
            if rule.action == Action.DROP:
                if event.kind == EventKind.RESOLVED:
                    continue  # a recovery always reaches the alert it recovers
                return replace(event, pipeline=(*steps, rule.step()), dropped=True)
            changed = _apply(rule, event)
            if changed is not None and changed != event:
                event = changed
                subject = _subject(event)
                steps.append(rule.step())
        return replace(event, pipeline=tuple(steps)) if steps else event


# Source id -> its compiled pipeline, per pipeline version; one entry per source served here.
_compiled_pipelines: PerVersion[Pipeline] = PerVersion()


def run_pipeline(source: AlertSource, events: Iterable[AlertEvent]) -> list[AlertEvent]:
    """Every event of a push through its source's pipeline (the one call of ``ingest``)."""
    events = list(events)
    if not events:
        return events
    pipeline = Pipeline.of(source)
    return [pipeline.run(event) for event in events] if pipeline.rules else events


def pipeline_verdict(event: AlertEvent) -> Verdict:
    """A dropped event's alert is kept, marked, with the rules that ran on it."""
    rules = [
        {"rule": step.rule, "name": step.name, "action": step.action} for step in event.pipeline
    ]
    return Verdict(why=Alert.Suppression.PIPELINE_DROPPED, keep=True, detail={"rules": rules})


def _compiled(rule: PipelineRule) -> CompiledRule:
    return CompiledRule(
        public_id=str(rule.public_id),
        name=rule.name or rule.get_action_display(),
        condition=parse_condition(rule.condition),
        action=rule.action,
        severity=rule.severity,
        template=rule.template,
        labels=rule.labels,
    )


def _subject(event: AlertEvent) -> dict[str, str]:
    return subject_of(
        title=event.title,
        description=event.description,
        severity=event.severity,
        alert_key=event.alert_key,
        labels=event.labels,
    )


def _apply(rule: CompiledRule, event: AlertEvent) -> AlertEvent | None:
    """The event changed by ``rule``'s action; None when its template failed."""
    try:
        match rule.action:
            case Action.SET_SEVERITY:
                return replace(event, severity=Severity(rule.severity))
            case Action.SET_TITLE | Action.SET_DESCRIPTION:
                field, limit = TEXT[Action(rule.action)]
                return replace(event, **{field: _render(rule.template, event, limit)})
            case Action.SET_LABELS:
                return replace(event, labels=_set_labels(rule.labels, event))
            case Action.REMOVE_LABELS:
                gone = set(rule.labels)
                return replace(
                    event, labels={k: v for k, v in event.labels.items() if k not in gone}
                )
    except TemplateFailure as failure:
        logger.warning(
            "pipeline rule %s failed on %s: %s", rule.public_id, event.alert_key, failure
        )
        return None
    raise AssertionError(f"unhandled action {rule.action}")


def _set_labels(wanted: dict[str, str], event: AlertEvent) -> dict[str, str]:
    labels = dict(event.labels)
    for name, value in wanted.items():
        labels[name] = _render(value, event, MAX_LABEL_VALUE_CHARS) if "{" in value else value
    if len(labels) > MAX_LABELS:  # what a push may carry; the rule's own labels win
        kept = [k for k in labels if k not in wanted][: MAX_LABELS - len(wanted)]
        labels = {k: labels[k] for k in [*kept, *wanted]}
    return labels


def _render(body: str, event: AlertEvent, limit: int) -> str:
    if "{" not in body:
        return body[:limit]
    return render(body, _context(event), _plain(limit))


def _context(event: AlertEvent) -> dict[str, Any]:
    now = timezone.now()
    return {
        "Title": event.title,
        "Description": event.description,
        "Severity": template_severity(event.severity),
        "EventSeverity": template_severity(event.severity),
        "AlertKey": event.alert_key,
        "Labels": dict(event.labels),
        "Status": "Ok" if event.kind == EventKind.RESOLVED else "Firing",
        **functions(tz=UTC, now=now, upload=None),
    }


# --- Checking a rule (admin, API) ---------------------------------------------------------------


def check_rule(rule: PipelineRule) -> dict[str, list[str]]:
    """What is wrong with a rule, by field; empty when it can be saved."""
    errors: dict[str, list[str]] = {}
    try:
        parse_condition(rule.condition)
    except ValidationError as error:
        errors["condition"] = error.messages
    match rule.action:
        case Action.SET_SEVERITY if rule.severity not in Severity.values:
            errors["severity"] = [_("Choose the severity to set.")]
        case Action.SET_TITLE | Action.SET_DESCRIPTION:
            problem = _template_problem(rule.template, required=True)
            if problem:
                errors["template"] = [problem]
        case Action.SET_LABELS:
            problem = _labels_problem(rule.labels)
            if problem:
                errors["labels"] = [problem]
        case Action.REMOVE_LABELS:
            if not (
                isinstance(rule.labels, list)
                and rule.labels
                and all(isinstance(n, str) and n for n in rule.labels)
            ):
                errors["labels"] = [_('Enter the label names to remove, e.g. ["value", "pod"].')]
    return errors


def _template_problem(body: str, *, required: bool) -> str:
    if not body.strip():
        return _("Enter the template.") if required else ""
    try:
        compile_body(body)
        unknown = unknown_names(body, {**dict.fromkeys(VARIABLES), **_function_names()})
    except TemplateFailure as failure:
        return _("Template error: %(reason)s") % {"reason": str(failure)}
    if unknown:
        return _("Unknown names: %(names)s. Variables: %(known)s.") % {
            "names": ", ".join(unknown),
            "known": ", ".join(VARIABLES),
        }
    return ""


def _function_names() -> dict[str, None]:
    return dict.fromkeys(functions(tz=UTC, now=datetime.now(UTC), upload=None))


def _labels_problem(labels: Any) -> str:
    if not isinstance(labels, dict) or not labels:
        return _('Enter the labels to set, e.g. {"team": "payments"}.')
    for name, value in labels.items():
        if not name or len(name) > MAX_LABEL_KEY_CHARS or not isinstance(value, str):
            return _("Label names are 1 to %(max)d characters and values are text.") % {
                "max": MAX_LABEL_KEY_CHARS
            }
        problem = _template_problem(value, required=False)
        if problem:
            return f"{name}: {problem}"
    return ""


# --- What the source's page shows ---------------------------------------------------------------


def dropped_today(source: AlertSource) -> int:
    """Events the source's pipeline dropped since midnight (the console's time zone)."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    total = InboundEvent.objects.filter(source=source, received_at__gte=midnight).aggregate(
        dropped=Sum("pipeline_dropped")
    )["dropped"]
    return total or 0


def recent_events(source: AlertSource, limit: int = 20) -> list[AlertEvent]:
    """The source's last events as the sender sent them (before its pipeline), newest first:
    what "try it on a recent event" offers."""
    found: list[AlertEvent] = []
    pushes = InboundEvent.objects.filter(source=source).order_by("-received_at", "-id")
    for push in pushes.only("events")[:limit]:
        for item in reversed(push.events):
            found.append(AlertEvent.from_json(item.get("original") or item["event"]))
            if len(found) >= limit:
                return found
    return found


def try_rules(rules: list[PipelineRule], event: AlertEvent) -> dict[str, Any]:
    """``event`` through ``rules`` as given (unsaved), for the preview: the result, what each
    rule did, or the problems that keep the rules from being saved."""
    problems = {
        index: errors for index, rule in enumerate(rules, 1) if (errors := check_rule(rule))
    }
    if problems:
        return {"errors": {str(k): v for k, v in problems.items()}}
    original = replace(event, pipeline=(), dropped=False)
    result = Pipeline(tuple(_compiled(rule) for rule in rules if rule.enabled)).run(original)
    return {"before": original.to_json(), "after": result.to_json(), "dropped": result.dropped}
