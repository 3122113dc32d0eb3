"""A lookup compiled once finds what the ORM's queryset finds, converted as the ORM converts
it (``oncall.compiled_lookup``), in one statement through the connection's wrappers."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from oncall.compiled_lookup import CompiledInsert, CompiledLookup
from oncall.models import AlertSource, InboundEvent
from oncall.models.sources import hash_token
from tests.factories import AlertSourceFactory

pytestmark = pytest.mark.django_db

FIELDS = [field.attname for field in AlertSource._meta.concrete_fields]


def test_it_finds_the_row_as_the_orm_loads_it():
    source = AlertSourceFactory(
        options={"nested": {"a": [1, 2]}},
        severity_overrides={"P1": "critical"},
        signing_secret="s3cret",
    )
    lookup = CompiledLookup(AlertSource, "token_hash")

    found = lookup.get(hash_token(source.token))

    loaded = AlertSource.objects.get(pk=source.pk)
    assert {name: getattr(found, name) for name in FIELDS} == {
        name: getattr(loaded, name) for name in FIELDS
    }
    assert found.token == source.token  # decrypted, as the ORM's converter does
    assert not found._state.adding
    assert found._state.db == "default"


def test_it_finds_nothing_for_an_unknown_value():
    AlertSourceFactory()

    assert CompiledLookup(AlertSource, "token_hash").get(hash_token("no such token")) is None


def test_each_lookup_is_one_statement_through_the_execute_wrappers(django_assert_num_queries):
    sources = AlertSourceFactory.create_batch(2)
    lookup = CompiledLookup(AlertSource, "token_hash")
    lookup.get(hash_token(sources[0].token))  # compiled on first use
    seen: list[str] = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper), django_assert_num_queries(2):
        assert lookup.get(hash_token(sources[1].token)).pk == sources[1].pk
        assert lookup.get(hash_token(sources[0].token)).pk == sources[0].pk
    assert len(seen) == 2


@pytest.mark.django_db(transaction=True)
def test_another_thread_compiles_for_its_own_connection():
    source = AlertSourceFactory()
    lookup = CompiledLookup(AlertSource, "token_hash")
    assert lookup.get(hash_token(source.token)).pk == source.pk
    found: list[int] = []

    def other() -> None:
        from django.db import connections

        try:
            found.append(lookup.get(hash_token(source.token)).pk)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()

    assert found == [source.pk]


def _inbound(source: AlertSource, **fields) -> InboundEvent:
    return InboundEvent(
        source=source,
        received_at=timezone.now(),
        status=InboundEvent.Status.PENDING,
        events=[{"event": {"title": "Disk full ✓"}, "channels": [1]}],
        notes=["a note"],
        body_bytes=120,
        **fields,
    )


STORED = [f.attname for f in InboundEvent._meta.concrete_fields if f.attname != "request_id"]


def test_an_insert_stores_the_row_save_would():
    source = AlertSourceFactory()
    by_save, by_insert = _inbound(source), _inbound(source)
    by_save.received_at = by_insert.received_at
    by_save.save(force_insert=True)

    CompiledInsert(InboundEvent).insert(by_insert)

    assert by_insert.pk is not None
    assert not by_insert._state.adding
    assert by_insert._state.db == "default"
    saved, inserted = (InboundEvent.objects.get(pk=row.pk) for row in (by_save, by_insert))
    assert {name: getattr(inserted, name) for name in STORED if name != "id"} == {
        name: getattr(saved, name) for name in STORED if name != "id"
    }
    assert inserted.request_id == by_insert.request_id


def test_a_model_with_save_receivers_is_saved_by_save():
    source = AlertSourceFactory()
    heard: list[int] = []

    def receiver(sender, instance, created, **kwargs):
        heard.append(instance.pk)

    post_save.connect(receiver, sender=InboundEvent)
    try:
        inbound = _inbound(source)
        CompiledInsert(InboundEvent).insert(inbound)
    finally:
        post_save.disconnect(receiver, sender=InboundEvent)

    assert heard == [inbound.pk]


def test_a_failed_insert_marks_its_transaction_for_rollback():
    source = AlertSourceFactory()
    first = _inbound(source)
    first.save()
    insert = CompiledInsert(InboundEvent)

    with transaction.atomic():  # a savepoint, rolled back on the way out when marked
        with pytest.raises(IntegrityError):
            insert.insert(_inbound(source, request_id=first.request_id))
        marked = transaction.get_rollback()

    assert marked
    assert InboundEvent.objects.count() == 1
