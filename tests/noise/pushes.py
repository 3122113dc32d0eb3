"""The standard-protocol source the pipeline, silence and maintenance tests push to with
``emit`` (the fixture of ``tests/noise/conftest.py``)."""

from __future__ import annotations

from oncall.models import AlertSource, Channel
from tests.factories import AlertSourceFactory


def standard_source(channel: Channel) -> AlertSource:
    return AlertSourceFactory(channel=channel, kind="standard", name="Probe")
