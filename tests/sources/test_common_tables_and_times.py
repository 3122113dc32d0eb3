"""The helpers the Tencent / Volcengine / OceanBase / Jiankongbao parsers share:
``severity_from_table``, ``parse_epoch_time`` and ``parse_local_time``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.sources.common import parse_epoch_time, parse_local_time, severity_from_table
from oncall.events import PayloadError, Severity

CHINA = timezone(timedelta(hours=8))
TABLE = {"down": Severity.CRITICAL, "caution": Severity.INFO}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Down", "critical"), ("  CAUTION ", "info"), ("critical", "warning"), (None, "warning")],
)
def test_severity_from_table_reads_only_the_senders_own_words(raw, expected):
    assert severity_from_table(raw, TABLE) == expected


def test_severity_from_table_falls_back_to_the_callers_default():
    assert severity_from_table({"a": 1}, TABLE, Severity.CRITICAL) == Severity.CRITICAL
    assert severity_from_table(2, {"2": Severity.INFO}) == Severity.INFO


@pytest.mark.parametrize(
    "raw", [1733212931, "1733212931", 1733212931000, "1733212931000", 1733212931.0]
)
def test_parse_unix_time_reads_seconds_and_milliseconds(raw):
    assert parse_epoch_time(raw, field="t") == datetime(2024, 12, 3, 8, 2, 11, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", 0, "0"])
def test_parse_unix_time_treats_zero_and_empty_as_unset(raw):
    assert parse_epoch_time(raw, field="t") is None


@pytest.mark.parametrize("raw", ["noon", True, [1], {"s": 1}, 1e30])
def test_parse_unix_time_refuses_what_is_no_timestamp(raw):
    with pytest.raises(PayloadError) as error:
        parse_epoch_time(raw, field="fault_time")

    assert error.value.field == "fault_time"


def test_parse_local_time_reads_a_wall_clock_time_in_the_senders_zone():
    assert parse_local_time("2024-03-29 09:33:00", field="t", tz=CHINA) == datetime(
        2024, 3, 29, 1, 33, tzinfo=UTC
    )


def test_parse_local_time_keeps_an_explicit_offset():
    assert parse_local_time("2024-03-29T09:33:00Z", field="t", tz=CHINA) == datetime(
        2024, 3, 29, 9, 33, tzinfo=UTC
    )
    assert parse_local_time("", field="t", tz=CHINA) is None


@pytest.mark.parametrize("raw", ["yesterday", 1711675980])
def test_parse_local_time_refuses_other_values(raw):
    with pytest.raises(PayloadError) as error:
        parse_local_time(raw, field="event.begin_time", tz=CHINA)

    assert error.value.field == "event.begin_time"
