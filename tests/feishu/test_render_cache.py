"""How long a rendered card may be reused without a change
(``integrations.feishu.cards.render_cache``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integrations.feishu.cards import render_cache
from oncall.models import Incident

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_a_card_is_reused_for_a_minute_at_most():
    assert render_cache._lifetime(Incident(), NOON) == render_cache.MAX_SECONDS


def test_a_card_is_not_reused_past_the_end_of_the_snooze_it_shows():
    snoozed = Incident(snoozed_until=NOON + timedelta(seconds=20))
    assert render_cache._lifetime(snoozed, NOON) == 20


def test_a_card_is_not_reused_past_midnight_when_its_times_would_need_a_date(settings):
    settings.TIME_ZONE = "UTC"
    late = datetime(2026, 11, 21, 23, 59, 50, tzinfo=UTC)
    assert render_cache._lifetime(Incident(), late) == 10
