"""Rule versions: how a process learns that rules it compiled are stale, at the cost of no query.

Noise-reduction rules (a source's pipeline rules, a channel's silences, a channel's or a
source's inhibit rules) run for every event a worker merges. Reading and compiling them for
every chunk costs more than the merge itself, so each owner row (the channel, the source)
carries a version: a new UUID whenever one of its rules is written. The merge reads the owner
rows anyway; a process keeps what it compiled for the version it last saw, and compiles again
only when the version it reads differs.

Every write path must change the version, or a process runs stale rules until it restarts:

* a rule's ``save`` and ``delete`` (:class:`VersionedRule`), for its old owner too when it
  moved;
* the queryset's ``update``, ``delete``, ``bulk_create`` and ``bulk_update``
  (:class:`VersionedRuleQuerySet`).

Cascades need nothing: when an owner is deleted its rules go with it, and nothing asks for its
version again. And an owner saved from a copy loaded before its rules changed must not write
its old version back (:func:`keep_versions`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class VersionOwner:
    """A row whose ``field`` changes whenever one of the rules pointing at it (by the rule's
    foreign key ``attname``) is written."""

    attname: str
    model: str
    field: str
    # How the owner model finds its rows from the rule's foreign key values: its own pks, or
    # a relation for an owner reached through another row (a level's rule's channel).
    lookup: str = "pk__in"

    @property
    def name(self) -> str:
        return self.attname.removesuffix("_id")


def new_versions(owner: VersionOwner, ids: Iterable[Any]) -> None:
    """Give these owners a new version: every process compiles their rules again."""
    pks = {pk for pk in ids if pk is not None}
    if pks:
        model = apps.get_model(owner.model)
        model.objects.filter(**{owner.lookup: pks}).update(**{owner.field: uuid.uuid4()})


def keep_versions(instance: models.Model, versions: Iterable[str], kwargs: dict[str, Any]) -> None:
    """For an owner's ``save``: an existing row is saved without its version fields, which only
    the rules' writes set (a copy loaded before they changed would put the old one back)."""
    if instance._state.adding or kwargs.get("update_fields") is not None:
        return
    skipped = set(versions)
    kwargs["update_fields"] = [
        f.name
        for f in instance._meta.concrete_fields
        if not f.primary_key and f.name not in skipped
    ]


class VersionedRuleQuerySet(models.QuerySet):
    """Rules' writes through a queryset give their owners new versions, as a rule's own save
    and delete do."""

    def _owners(self) -> tuple[VersionOwner, ...]:
        return self.model.version_owners

    def _stored_owner_ids(self, queryset: models.QuerySet | None = None) -> list[set[Any]]:
        owners = self._owners()
        rows = (queryset if queryset is not None else self).values_list(
            *(o.attname for o in owners)
        )
        ids: list[set[Any]] = [set() for _ in owners]
        for row in rows:
            for index, value in enumerate(row):
                ids[index].add(value)
        return ids

    def _renew(self, ids: list[set[Any]]) -> None:
        for owner, pks in zip(self._owners(), ids, strict=True):
            new_versions(owner, pks)

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list:
        objs = list(objs)
        created = super().bulk_create(objs, *args, **kwargs)
        self._renew([{getattr(rule, o.attname) for rule in objs} for o in self._owners()])
        return created

    def bulk_update(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        before = self._stored_owner_ids(self.filter(pk__in=[rule.pk for rule in objs]))
        count = super().bulk_update(objs, *args, **kwargs)
        after = [{getattr(rule, o.attname) for rule in objs} for o in self._owners()]
        self._renew([old | new for old, new in zip(before, after, strict=True)])
        return count

    def update(self, **kwargs: Any) -> int:
        before = self._stored_owner_ids()
        count = super().update(**kwargs)
        for index, owner in enumerate(self._owners()):
            moved_to = kwargs.get(owner.name, kwargs.get(owner.attname))
            before[index].add(getattr(moved_to, "pk", moved_to))
        self._renew(before)
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        before = self._stored_owner_ids()
        deleted = super().delete()
        self._renew(before)
        return deleted


class VersionedRule(models.Model):
    """A rule whose writes renew its owners' versions (``version_owners``)."""

    version_owners: ClassVar[tuple[VersionOwner, ...]] = ()
    # The owners' ids as loaded, so that a rule moved to another owner renews both.
    _loaded_owner_ids: tuple[Any, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        loaded = self._loaded_owner_ids or (None,) * len(self.version_owners)
        super().save(*args, **kwargs)
        current = self._owner_ids()
        for owner, old, new in zip(self.version_owners, loaded, current, strict=True):
            new_versions(owner, {old, new})
        self._loaded_owner_ids = current

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        current = self._owner_ids()
        deleted = super().delete(*args, **kwargs)
        for owner, pk in zip(self.version_owners, current, strict=True):
            new_versions(owner, {pk})
        return deleted

    def _owner_ids(self) -> tuple[Any, ...]:
        return tuple(getattr(self, o.attname) for o in self.version_owners)

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        rule = super().from_db(db, field_names, values)
        rule._loaded_owner_ids = tuple(rule.__dict__.get(o.attname) for o in cls.version_owners)
        return rule
