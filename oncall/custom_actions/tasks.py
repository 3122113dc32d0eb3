"""Celery tasks of custom actions: thin, by primary key, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from oncall.custom_actions import runs

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def call_action(run_id: int) -> None:
    """Make a click's call (``runs.perform`` takes the run once; a second copy does nothing)."""
    runs.perform(run_id)


@shared_task(ignore_result=True)
def sweep_action_runs() -> int:
    """Record, once each, the clicks no worker took in time and the calls whose worker
    stopped: nothing stays "running" on the timeline for ever."""
    retired = runs.retire_stale()
    if retired:
        logger.warning("retired %d custom action run(s) left in flight", retired)
    return retired
