from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from oncall.events import Severity
from oncall.models.versions import VersionedRule, VersionedRuleQuerySet, VersionOwner

CONDITION_HELP = _(
    "Matchers on severity, title, description, alert_key and labels.<name>: a list is AND "
    '([{"key": "labels.env", "op": "eq", "value": "dev"}]); a list of lists is OR between them '
    "([[m1, m2], [m3]]: m1 and m2, or m3). Empty: every event."
)


class PipelineRule(VersionedRule):
    """One step of an alert source's pipeline (``oncall.noise.pipelines``): when its condition
    holds for an event, its action changes the event, or drops it. Rules run in ``position``
    order, each on what the ones before it made."""

    class Action(models.TextChoices):
        SET_SEVERITY = "set_severity", _("set the severity")
        SET_TITLE = "set_title", _("rewrite the title")
        SET_DESCRIPTION = "set_description", _("rewrite the description")
        SET_LABELS = "set_labels", _("add or change labels")
        REMOVE_LABELS = "remove_labels", _("remove labels")
        DROP = "drop", _("drop the event")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    source = models.ForeignKey(
        "oncall.AlertSource",
        on_delete=models.CASCADE,
        related_name="pipeline_rules",
        verbose_name=_("source"),
    )
    position = models.PositiveIntegerField(
        default=0, help_text=_("Rules run in this order."), verbose_name=_("position")
    )
    name = models.CharField(max_length=120, blank=True, verbose_name=_("name"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    condition = models.JSONField(
        default=list, blank=True, help_text=CONDITION_HELP, verbose_name=_("condition")
    )
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("action"))
    severity = models.CharField(
        max_length=16,
        choices=Severity.choices,
        blank=True,
        help_text=_("The new severity (set the severity)."),
        verbose_name=_("severity"),
    )
    template = models.TextField(
        blank=True,
        help_text=_(
            "The new title or description, a template over the event: {{ Title }}, "
            "{{ Description }}, {{ Severity }}, {{ AlertKey }}, {{ Labels.host }}."
        ),
        verbose_name=_("template"),
    )
    labels = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            'Add or change labels: {"team": "payments", "where": "{{ Labels.dc }}-{{ '
            'Labels.rack }}"} (values are templates). Remove labels: ["value", "pod"].'
        ),
        verbose_name=_("labels"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = VersionedRuleQuerySet.as_manager()
    # Every write gives the source a new pipeline version (``oncall.models.versions``).
    version_owners = (VersionOwner("source_id", "oncall.AlertSource", "pipeline_version"),)

    class Meta:
        ordering = ["source", "position", "id"]
        indexes = [models.Index(fields=["source", "position"], name="pipeline_rule_order")]
        verbose_name = _("pipeline rule")
        verbose_name_plural = _("pipeline rules")

    def __str__(self) -> str:
        return self.name or f"{self.get_action_display()} #{self.pk}"

    def clean(self) -> None:
        from oncall.noise.pipelines import check_rule  # the pipeline knows what a rule needs

        errors = check_rule(self)
        if errors:
            raise ValidationError(errors)
