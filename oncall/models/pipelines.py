from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from oncall.events import Severity

CONDITION_HELP = _(
    "Matchers on severity, title, description, alert_key and labels.<name>: a list is AND "
    '([{"key": "labels.env", "op": "eq", "value": "dev"}]); a list of lists is OR between them '
    "([[m1, m2], [m3]]: m1 and m2, or m3). Empty: every event."
)


def new_pipeline_versions(source_ids: Iterable[int]) -> None:
    """Tell every process that these sources' pipelines changed: new
    ``AlertSource.pipeline_version`` values."""
    from oncall.models.sources import AlertSource

    ids = {pk for pk in source_ids if pk is not None}
    if ids:
        AlertSource.objects.filter(pk__in=ids).update(pipeline_version=uuid.uuid4())


class PipelineRuleQuerySet(models.QuerySet):
    """Rules' writes through a queryset give their sources a new pipeline version, as a rule's
    own save and delete do, so that no write path leaves a process running stale rules."""

    def bulk_create(self, objs: Iterable[PipelineRule], *args: Any, **kwargs: Any) -> list:
        objs = list(objs)
        created = super().bulk_create(objs, *args, **kwargs)
        new_pipeline_versions(rule.source_id for rule in objs)
        return created

    def bulk_update(self, objs: Iterable[PipelineRule], *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        stored = self.filter(pk__in=[rule.pk for rule in objs])
        before = set(stored.values_list("source_id", flat=True))
        count = super().bulk_update(objs, *args, **kwargs)
        new_pipeline_versions(before | {rule.source_id for rule in objs})
        return count

    def update(self, **kwargs: Any) -> int:
        before = set(self.values_list("source_id", flat=True))
        count = super().update(**kwargs)
        moved_to = kwargs.get("source", kwargs.get("source_id"))
        new_pipeline_versions(before | {getattr(moved_to, "pk", moved_to)})
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        before = set(self.values_list("source_id", flat=True))
        deleted = super().delete()
        new_pipeline_versions(before)
        return deleted


class PipelineRule(models.Model):
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

    objects = PipelineRuleQuerySet.as_manager()

    class Meta:
        ordering = ["source", "position", "id"]
        indexes = [models.Index(fields=["source", "position"], name="pipeline_rule_order")]
        verbose_name = _("pipeline rule")
        verbose_name_plural = _("pipeline rules")

    def __str__(self) -> str:
        return self.name or f"{self.get_action_display()} #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        moved_from = self._loaded_source_id
        super().save(*args, **kwargs)
        new_pipeline_versions({self.source_id, moved_from})
        self._loaded_source_id = self.source_id

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        source_id = self.source_id
        deleted = super().delete(*args, **kwargs)
        new_pipeline_versions({source_id})
        return deleted

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> PipelineRule:
        rule = super().from_db(db, field_names, values)
        rule._loaded_source_id = rule.__dict__.get("source_id")
        return rule

    _loaded_source_id: int | None = None

    def clean(self) -> None:
        from oncall.noise.pipelines import check_rule  # the pipeline knows what a rule needs

        errors = check_rule(self)
        if errors:
            raise ValidationError(errors)
