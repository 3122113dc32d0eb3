"""A chat platform's part of escalation rules and levels (``oncall.platforms.TargetFields``) when
it has the usual shape: a rule chooses the app that delivers its cards, and each level chooses
group chats of that app.

``AppAndGroupTargets`` holds the machinery, the same for every such platform: the API fields and
admin form fields (whose values are the same model instances), the check that a level's groups
belong to the rule's app (the chosen one, else the only enabled one), and saving. A platform
subclasses it with its field names, words, querysets and storage; more rule options (Feishu's war
room) come through ``extra_rule_fields``, ``extra_rule_form_fields`` and ``save_extra``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.db import models
from rest_framework import serializers

from oncall.models import EscalationLevel, EscalationRule


class RuleAppField(serializers.SlugRelatedField):
    """A rule's app in the API, read through the platform's storage (``read(rule)``)."""

    def __init__(self, read: Callable[[EscalationRule], Any], **kwargs: Any):
        self.read = read
        super().__init__(**kwargs)

    def get_attribute(self, rule: EscalationRule) -> Any:
        return self.read(rule)


class LevelGroupsField(serializers.ManyRelatedField):
    """A level's groups in the API, read through the platform's storage (``read(level)``)."""

    def __init__(self, read: Callable[[EscalationLevel], list[Any]], **kwargs: Any):
        self.read = read
        super().__init__(**kwargs)

    def get_attribute(self, level: EscalationLevel) -> list[Any]:
        return self.read(level)


class AppAndGroupTargets(ABC):
    """``oncall.platforms.TargetFields`` for "a rule's app, a level's groups of that app".

    Storage hooks are static methods (plain functions), so that the API fields, which Django
    REST framework deep-copies, carry no reference to this object."""

    rule_field: str  # the field names, in the API and the admin forms
    level_field: str

    api_app_help: str
    api_groups_help: str
    form_app_label: Any
    form_app_help: Any
    form_groups_label: Any
    form_groups_help: Any

    # --- What the platform supplies ---------------------------------------------------------

    @staticmethod
    @abstractmethod
    def apps() -> models.QuerySet:
        """The platform's apps (a rule may choose any, enabled or not)."""

    @staticmethod
    @abstractmethod
    def choosable_groups() -> models.QuerySet:
        """The groups a level may choose."""

    @staticmethod
    @abstractmethod
    def chosen_app(rule: EscalationRule) -> Any:
        """The app ``rule`` chose, or None."""

    @staticmethod
    @abstractmethod
    def choose_app(rule: EscalationRule, app: Any) -> None:
        """Make ``app`` deliver ``rule``'s cards; None: the only enabled app."""

    @staticmethod
    @abstractmethod
    def default_delivering_app() -> Any:
        """The app of a rule that chose none (the only enabled one), or None."""

    @staticmethod
    @abstractmethod
    def read_level_groups(level: EscalationLevel) -> list[Any]:
        """The groups ``level`` notifies."""

    @staticmethod
    @abstractmethod
    def write_level_groups(level: EscalationLevel, groups: Sequence[Any]) -> None:
        """Make ``level`` notify exactly ``groups``."""

    @abstractmethod
    def foreign_groups_error(self, names: str, app: Any) -> str:
        """Why a level's groups (``names``, joined) are refused: they are another app's."""

    def extra_rule_fields(self) -> dict[str, serializers.Field]:
        return {}

    def extra_rule_form_fields(self, rule: EscalationRule | None) -> dict[str, forms.Field]:
        return {}

    def save_extra(self, rule: EscalationRule, rule_values: dict[str, Any]) -> None:  # noqa: B027
        """Store the extra rule fields' values (those given); an optional hook, like the two
        above: without extra fields there is nothing to store."""

    # --- TargetFields ---------------------------------------------------------------------------

    def rule_fields(self) -> dict[str, serializers.Field]:
        app_field = RuleAppField(
            read=type(self).chosen_app,
            slug_field="public_id",
            queryset=self.apps(),
            allow_null=True,
            required=False,
            help_text=self.api_app_help,
        )
        return {self.rule_field: app_field, **self.extra_rule_fields()}

    def level_fields(self) -> dict[str, serializers.Field]:
        groups_field = LevelGroupsField(
            read=type(self).read_level_groups,
            child_relation=serializers.PrimaryKeyRelatedField(queryset=self.choosable_groups()),
            required=False,
            help_text=self.api_groups_help,
        )
        return {self.level_field: groups_field}

    def rule_form_fields(self, rule: EscalationRule | None) -> dict[str, forms.Field]:
        app_field = forms.ModelChoiceField(
            self.apps().order_by("name"),
            required=False,
            initial=self.chosen_app(rule) if rule is not None and rule.pk else None,
            label=self.form_app_label,
            help_text=self.form_app_help,
        )
        return {self.rule_field: app_field, **self.extra_rule_form_fields(rule)}

    def level_form_fields(self, level: EscalationLevel | None) -> dict[str, forms.Field]:
        initial = self.read_level_groups(level) if level is not None and level.pk else []
        groups_field = forms.ModelMultipleChoiceField(
            self.choosable_groups().select_related("app").order_by("app__name", "name"),
            required=False,
            initial=initial,
            label=self.form_groups_label,
            help_text=self.form_groups_help,
        )
        return {self.level_field: groups_field}

    def level_has_targets(self, level_values: dict[str, Any]) -> bool:
        return bool(level_values.get(self.level_field))

    def validate(
        self, rule: EscalationRule, rule_values: dict[str, Any], levels: list[dict[str, Any]]
    ) -> dict[int | str, Any]:
        """Each level whose groups are not all the delivering app's (none when no app
        delivers: the rule's problems say so)."""
        given = self.rule_field in rule_values
        app = rule_values[self.rule_field] if given else self.chosen_app(rule)
        app = app or self.default_delivering_app()
        errors: dict[int | str, Any] = {}
        if app is None:
            return errors
        for index, values in enumerate(levels):
            groups = values.get(self.level_field) or []
            foreign = [str(group) for group in groups if group.app_id != app.pk]
            if foreign:
                errors[index] = {
                    self.level_field: [self.foreign_groups_error(", ".join(foreign), app)]
                }
        return errors

    def save(
        self,
        rule: EscalationRule,
        rule_values: dict[str, Any],
        levels: Sequence[tuple[EscalationLevel, dict[str, Any]]],
    ) -> None:
        if self.rule_field in rule_values and self.chosen_app(rule) != rule_values[self.rule_field]:
            self.choose_app(rule, rule_values[self.rule_field])
        self.save_extra(rule, rule_values)
        for level, values in levels:
            if self.level_field in values:
                self.write_level_groups(level, values[self.level_field] or [])


def delivering_app(rule: EscalationRule, apps: Any, choice: type[models.Model], name: str) -> Any:
    """The app that delivers ``rule``'s cards, in one query: the one chosen for it (its row of
    ``choice``, the rule's reverse one-to-one ``name``), else the only enabled app of ``apps``
    (a queryset of the platform's apps); None when neither. Two look-ups in turn cost two
    queries on every escalation step. The rule keeps what was found (its ``name`` relation),
    so that asking for the chosen app again costs nothing."""
    chosen = choice.objects.filter(rule=rule, app=models.OuterRef("pk"))
    found = list(
        apps.annotate(choice_pk=models.Subquery(chosen.values("pk")[:1]))
        .filter(models.Q(choice_pk__isnull=False) | models.Q(enabled=True))
        .order_by(models.F("choice_pk").desc(nulls_last=True), "pk")[:3]
    )
    if found and found[0].choice_pk is not None:
        app = found[0]
        getattr(type(rule), name).related.set_cached_value(
            rule, choice(pk=app.choice_pk, rule=rule, app=app)
        )
        return app
    getattr(type(rule), name).related.set_cached_value(rule, None)  # none chosen
    return found[0] if len(found) == 1 else None
