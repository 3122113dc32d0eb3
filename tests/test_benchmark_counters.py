"""What the benchmarks' rows say each event cost: SQL statements counted in the servers'
processes (``oncall.statement_count``) and CPU time read from ``/proc``
(``tests/benchmarks/common.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from oncall.statement_count import StatementCounter, read_total
from tests.benchmarks.common import ROOT, Usage, cost_header, group_cpu_seconds


@pytest.mark.django_db
def test_it_counts_each_statement_a_connection_runs(tmp_path):
    with connection.execute_wrapper(StatementCounter(tmp_path)):
        for _ in range(3):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")

    assert read_total(tmp_path) == 3
    assert [path.name for path in tmp_path.iterdir()] == [str(os.getpid())]


def test_a_forked_child_counts_into_a_file_of_its_own(tmp_path):
    counter = StatementCounter(tmp_path)
    counter.add(5)
    child = os.fork()
    if child == 0:  # the child: its own total from zero, in its own file
        counter.add(2)
        os._exit(0)
    os.waitpid(child, 0)
    counter.add(1)

    assert read_total(tmp_path) == 8
    assert {path.name for path in tmp_path.iterdir()} == {str(os.getpid()), str(child)}


def test_nothing_is_counted_without_a_folder(tmp_path):
    assert read_total(tmp_path / "never-made") == 0


def test_a_process_started_with_the_setting_counts_its_statements(tmp_path):
    """The wiring the benchmarks' servers rely on: ``STATEMENT_COUNT_DIR`` in a process's
    environment, and every statement of that process is counted there."""
    script = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "for _ in range(4):\n"
        "    connection.cursor().execute('SELECT 1')\n"
    )
    env = {**os.environ, "STATEMENT_COUNT_DIR": str(tmp_path / "web")}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=120)

    assert read_total(tmp_path / "web") >= 4  # Django may run statements of its own at connect


def test_cost_cells_are_per_event():
    usage = Usage(web=0.5, workers=1.0, machine_busy=0.5, web_statements=20, worker_statements=250)

    assert dict(zip(cost_header(), usage.cost_cells(10), strict=True)) == {
        "web CPU ms/ev": "50.00",
        "worker CPU ms/ev": "100.00",
        "web SQL/ev": "2.0",
        "worker SQL/ev": "25.0",
    }
    assert usage.cost_cells(0) == ["-"] * 4
    assert "SQL statements 20 web + 250 workers, 27.0 per card" in usage.describe(
        "while it ran", 10, "card"
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_a_process_groups_cpu_time_grows_as_it_works():
    group = os.getpgid(0)
    before = group_cpu_seconds(group)
    began = time.process_time()
    while time.process_time() - began < 0.1:  # work: at least ten clock ticks of CPU
        sum(range(1000))

    after = group_cpu_seconds(group)
    assert 0 < before < after
