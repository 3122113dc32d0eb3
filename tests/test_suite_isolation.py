"""Each pytest-xdist process's own Redis database (tests/settings.py, tests/xdist_databases.py)."""

import pytest

from tests.xdist_databases import redis_url_for_worker


@pytest.mark.parametrize(
    ("base", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/12", "gw0", "redis://127.0.0.1:6379/12"),
        ("redis://127.0.0.1:6379/12", "gw1", "redis://127.0.0.1:6379/11"),
        ("redis://127.0.0.1:6379/15", "gw2", "redis://127.0.0.1:6379/13"),
        ("redis://127.0.0.1:6379/0", "gw1", "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379", "gw1", "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379/", "gw0", "redis://127.0.0.1:6379/0"),
        (
            "rediss://:pw@cache:6380/3?ssl_cert_reqs=none",
            "gw4",
            "rediss://:pw@cache:6380/15?ssl_cert_reqs=none",
        ),
    ],
)
def test_it_gives_each_process_a_database_between_0_and_15(base, worker, expected):
    assert redis_url_for_worker(base, worker) == expected


def test_it_gives_two_processes_two_databases():
    base = "redis://127.0.0.1:6379/0"
    assert len({redis_url_for_worker(base, f"gw{i}") for i in range(16)}) == 16
