"""The figures as CSV tables, one file per table: what a spreadsheet or a script reads.
Column names are fixed English identifiers (the API's field names), whatever the language."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

# Every time is in seconds, every share a fraction (0.25 is 25 %), empty where there is none.
TIME_FIGURES = ["mtta_median", "mtta_p90", "mttr_median", "mttr_p90"]
RESPONSE = [
    "incidents",
    "alerts",
    "events",
    "alerts_per_incident",
    "noise_reduction",
    "acknowledged",
    "acknowledged_share",
    "ack_within_target",
    "ack_within_target_share",
    "closed",
    *TIME_FIGURES,
]
# A cell a spreadsheet would run as a formula (an alert's title is anyone's text).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _summary(figures: dict[str, Any]) -> Iterable[list[Any]]:
    yield ["since", "until", "time_zone", "ack_target_seconds", *RESPONSE]
    summary, period = figures["summary"], figures["period"]
    yield [
        period["since"],
        period["until"],
        period["time_zone"],
        figures["ack_target_seconds"],
        *(summary[name] for name in RESPONSE),
    ]


def _channels(figures: dict[str, Any]) -> Iterable[list[Any]]:
    yield ["channel_id", "channel", *RESPONSE]
    for row in figures["channels"]:
        yield [row["channel"]["id"], row["channel"]["name"], *(row[name] for name in RESPONSE)]


def _by_day(figures: dict[str, Any]) -> Iterable[list[Any]]:
    yield ["date", "incidents"]
    yield from ([row["date"], row["incidents"]] for row in figures["by_day"])


def _by_hour(figures: dict[str, Any]) -> Iterable[list[Any]]:
    yield ["hour", "incidents"]
    yield from ([row["hour"], row["incidents"]] for row in figures["by_hour"])


def _by_weekday(figures: dict[str, Any]) -> Iterable[list[Any]]:
    yield ["iso_weekday", "incidents"]
    yield from ([row["weekday"], row["incidents"]] for row in figures["by_weekday"])


def _top_alerts(figures: dict[str, Any]) -> Iterable[list[Any]]:
    yield ["alert_key", "title", "alerts", "events"]
    for row in figures["top_alerts"]:
        yield [row["alert_key"], row["title"], row["alerts"], row["events"]]


def _top_sources(figures: dict[str, Any]) -> Iterable[list[Any]]:
    yield ["source_id", "source", "kind", "alerts", "events"]
    for row in figures["top_sources"]:
        source = row["source"] or {"id": "", "name": "", "kind": ""}
        yield [source["id"], source["name"], source["kind"], row["alerts"], row["events"]]


def _responders(figures: dict[str, Any]) -> Iterable[list[Any]]:
    yield [
        "username",
        "name",
        "notifications",
        "night_notifications",
        "claims",
        "night_claims",
    ]
    for row in figures["responders"]:
        yield [
            row["user"]["username"],
            row["user"]["name"],
            row["notifications"],
            row["night_notifications"],
            row["claims"],
            row["night_claims"],
        ]


TABLES: dict[str, Callable[[dict[str, Any]], Iterable[list[Any]]]] = {
    "summary": _summary,
    "channels": _channels,
    "by_day": _by_day,
    "by_hour": _by_hour,
    "by_weekday": _by_weekday,
    "top_alerts": _top_alerts,
    "top_sources": _top_sources,
    "responders": _responders,
}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(figures: dict[str, Any], table: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in TABLES[table](figures):
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()
