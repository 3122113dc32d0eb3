"""A lookup compiled once finds what the ORM's queryset finds, converted as the ORM converts
it (``oncall.compiled_lookup``), in one statement through the connection's wrappers."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from oncall.compiled_lookup import CompiledLookup
from oncall.models import AlertSource
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
