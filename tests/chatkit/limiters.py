"""The toolkit's limiter on both backends, for the tests of whatever counts with it (the
limiter's own, a platform's pacing): the database on every run, Redis in the PostgreSQL + Redis
stage (marked ``postgres``, where Redis on 127.0.0.1:6379 is guaranteed), in this process's own
Redis database (``own_redis_url``) under a key prefix of the test's own, deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.apps import apps

from integrations.chatkit.ratelimit import DatabaseLimiter, RedisLimiter
from tests.xdist_databases import own_redis_url


@contextmanager
def own_redis_prefix(name: str) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted on the way out."""
    import redis

    prefix = f"test:{name}:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        connection = redis.Redis.from_url(own_redis_url())
        for key in connection.scan_iter(f"{prefix}*"):
            connection.delete(key)


def limiter_fixture(model: str, name: str):
    """A ``limiter`` fixture, once per backend, on the test's ``clock`` fixture; ``model``
    (``app_label.Model``) is the rate windows the database limiter counts in, named rather than
    imported: a test module that a spawned process imports must not need Django's apps."""

    @pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.postgres)])
    def limiter(request, clock, db):
        # ``db`` for both: asked for lazily, the test database was not set up when a test ran
        # alone.
        if request.param == "database":
            yield DatabaseLimiter(apps.get_model(model), clock=clock)
            return
        with own_redis_prefix(name) as prefix:
            yield RedisLimiter(own_redis_url(), prefix=prefix, clock=clock)

    return limiter
