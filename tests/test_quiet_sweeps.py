"""Celery's routine lines about the periodic sweeps are DEBUG lines unless LOG_SWEEPS is on;
other tasks' lines stay at INFO. The records go through the loggers Celery uses, as Celery
writes them (its own format strings and arguments)."""

from __future__ import annotations

import logging

import pytest
from celery.app import trace

SWEEP = "oncall.tasks.sweep_escalations"
OTHER = "oncall.tasks.process_inbound_event"
CELERY_LOGGERS = ("celery.worker.strategy", "celery.app.trace", "celery.beat")


def received(name: str) -> None:
    context = {"id": "1d2e", "name": name, "args": "()", "kwargs": "{}", "eta": None}
    logging.getLogger("celery.worker.strategy").info(trace.LOG_RECEIVED, context)


def succeeded(name: str) -> None:
    trace.info(trace.LOG_SUCCESS, {"id": "1d2e", "name": name, "runtime": 0.01, "return_value": 0})


def sent_by_beat(name: str) -> None:
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "x", name)


@pytest.fixture
def at_info(caplog):
    with caplog.at_level(logging.INFO):
        for name in CELERY_LOGGERS:
            caplog.set_level(logging.INFO, logger=name)
        yield caplog


@pytest.mark.parametrize("line", [received, succeeded, sent_by_beat])
def test_it_leaves_a_sweeps_routine_line_out_at_info(at_info, line):
    line(SWEEP)
    assert at_info.records == []


@pytest.mark.parametrize("line", [received, succeeded, sent_by_beat])
def test_it_keeps_other_tasks_lines_at_info(at_info, line):
    line(OTHER)
    assert [r.levelname for r in at_info.records] == ["INFO"]
    assert OTHER in at_info.text


def test_it_shows_a_sweeps_lines_as_debug_when_the_level_is_debug(caplog):
    with caplog.at_level(logging.DEBUG):
        for name in CELERY_LOGGERS:
            caplog.set_level(logging.DEBUG, logger=name)
        succeeded(SWEEP)
    assert [(r.levelname, r.getMessage().split("[")[0]) for r in caplog.records] == [
        ("DEBUG", f"Task {SWEEP}")
    ]


def test_log_sweeps_keeps_them_at_info(at_info, settings):
    settings.LOG_SWEEPS = True
    received(SWEEP)
    succeeded(SWEEP)
    assert [r.levelname for r in at_info.records] == ["INFO", "INFO"]


def test_every_periodic_task_is_quieted(at_info):
    from oncall.celery import app

    for entry in app.conf.beat_schedule.values():
        succeeded(entry["task"])
    assert at_info.records == []
