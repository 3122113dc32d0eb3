"""PostgreSQL binds parameters on the server and prepares what a connection runs again
(``oncall.settings._postgresql_options``), unless the environment says otherwise."""

from __future__ import annotations

import pytest
from django.db import connection

from oncall.models import Channel
from oncall.settings import _postgresql_options


def test_statements_are_bound_on_the_server_and_prepared_from_their_second_run(monkeypatch):
    monkeypatch.delenv("DB_SERVER_SIDE_BINDING", raising=False)
    monkeypatch.delenv("DB_PREPARE_THRESHOLD", raising=False)
    assert _postgresql_options() == {"server_side_binding": True, "prepare_threshold": 2}


def test_a_pooler_that_cannot_keep_prepared_statements_gets_none(monkeypatch):
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "0")
    # psycopg prepares nothing when the threshold is None (0 would prepare at the first run)
    assert _postgresql_options() == {"server_side_binding": True, "prepare_threshold": None}


def test_client_side_binding_is_one_setting_away(monkeypatch):
    monkeypatch.setenv("DB_SERVER_SIDE_BINDING", "false")
    assert _postgresql_options() == {}


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_run_again_on_a_connection_is_prepared_on_the_server():
    assert connection.features.uses_server_side_binding

    def prepared() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0] for row in cursor.fetchall()}

    for name in ("ops", "db", "ops"):
        list(Channel.objects.filter(name=name))

    assert any('FROM "oncall_channel"' in statement for statement in prepared())
