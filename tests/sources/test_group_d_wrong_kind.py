"""A payload of one of these kinds posted to a source of another kind is refused with a hint
naming the kind it looks like (``recognises``), for every kind of this group."""

from __future__ import annotations

import pytest

from oncall.events import PayloadError
from oncall.sources import source_kind, wrong_kind_hint

FIRING = {
    "n9e": "n9e/firing",
    "zabbix": "zabbix/firing",
    "uptime_kuma": "uptime_kuma/firing",
    "skywalking": "skywalking/firing",
    "open_falcon": "open_falcon/firing",
    "graylog": "graylog/firing",
    "opmanager": "opmanager/firing",
    "influxdb": "influxdb/firing",
    "elastalert2": "elastalert2/firing",
    "keep": "keep/firing",
    "monit": "monit/firing",
    "rum": "rum/firing",
}


@pytest.mark.parametrize("kind", sorted(FIRING))
def test_a_payload_posted_to_another_kind_gets_a_hint_naming_its_kind(kind, load_fixture):
    other = source_kind("grafana")

    hint = wrong_kind_hint(load_fixture(FIRING[kind]), other)

    assert hint == (
        f"This looks like a {source_kind(kind).label} payload; this source expects {other.label}."
    )


@pytest.mark.parametrize("kind", sorted(FIRING))
def test_each_kind_refuses_another_kinds_payload_with_the_hint(kind, load_fixture):
    source = source_kind(kind)
    foreign = "keep" if kind != "keep" else "n9e"

    with pytest.raises(PayloadError):
        source.parse(load_fixture(FIRING[foreign]))

    assert wrong_kind_hint(load_fixture(FIRING[foreign]), source).startswith(
        f"This looks like a {source_kind(foreign).label} payload"
    )
