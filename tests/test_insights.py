"""Insights: the figures against a small data set whose answers were worked out by hand, the
period and permission rules, and the page, CSV and API that show them.

The data set (``dataset``), in Asia/Shanghai (UTC+8), for the days 2026-11-01 to 2026-11-07:

    #  opened (local)    claimed after       closed after  alerts (key source events)
    1  Mon 11-02 09:00   60 s, alice  day    600 s         disk S1 3, cpu S2 1
    2  Mon 11-02 23:30   120 s, bob   night  1200 s        disk S1 5
    3  Tue 11-03 02:00   600 s, alice night  3600 s        cpu S2 1, disk S1 1, mem S2 2
    4  Wed 11-04 14:00   300 s, bob   day    (open)        cpu S2 1
    5  Fri 11-06 22:00   (never)             (open)        net (no source) 1

Time to acknowledge: 60, 120, 300, 600 -> median 210 (120 + 0.5 x 180), p90 510 (300 + 0.7 x
300). Time to resolve: 600, 1200, 3600 -> median 1200, p90 3120 (1200 + 0.8 x 2400).
5 incidents, 8 alerts, 15 events: 1.6 alerts per incident, noise reduction 1 - 5/8 = 0.375.
Within 5 minutes (300 s included): 3 of 5. Notifications (night is 22:00-08:00): alice at
09:00 (#1), 23:40 (#2), 02:00 (#3), 22:00 (#5): 4, 3 at night; bob at 09:00 (#1), 23:30 and
23:40 (#2), 14:00 (#4), 22:00 (#5): 5, 3 at night. Claims: alice 2 (1 at night), bob 2 (1).
An incident just before and one just after the period, and one in another channel, must not
count.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from oncall import escalation, lifecycle
from oncall.insights.figures import Night, Scope, compute
from oncall.insights.period import BadPeriod, api_period, days_period, preset_period
from oncall.insights.sql import percentile_cont
from oncall.models import (
    EscalationLevel,
    EscalationRule,
    Incident,
    TimelineEntry,
)
from oncall.platforms import LevelReport, PlatformBase
from oncall.timeline import Actor, display_name
from tests.factories import (
    AlertFactory,
    AlertSourceFactory,
    ChannelFactory,
    IncidentFactory,
    TimelineEntryFactory,
    UserFactory,
    api_as,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_DAY = "2026-11-01"
LAST_DAY = "2026-11-07"
Kind = TimelineEntry.Kind


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _shanghai(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.INSIGHTS_ACK_TARGET_MINUTES = 5
    settings.INSIGHTS_NIGHT_START_HOUR = 22
    settings.INSIGHTS_NIGHT_END_HOUR = 8


class Dataset:
    def __init__(self) -> None:
        self.alice = UserFactory(username="alice", first_name="Alice")
        self.bob = UserFactory(username="bob", first_name="Bob")
        self.carol = UserFactory(username="carol", first_name="Carol")
        self.channel = ChannelFactory(name="Databases")
        self.channel.members.add(self.alice, self.bob)
        self.other = ChannelFactory(name="Payments")
        self.other.members.add(self.carol)
        self.s1 = AlertSourceFactory(name="Prometheus", channel=self.channel)
        self.s2 = AlertSourceFactory(name="Grafana", channel=self.channel, kind="grafana")
        self.incidents: list[Incident] = []

    def incident(
        self,
        opened: datetime,
        *,
        claim: tuple[int, Any] | None = None,
        close: int | None = None,
        alerts: list[tuple[str, Any, int]] = (),
        notified: list[tuple[datetime, list[Any]]] = (),
        channel: Any = None,
    ) -> Incident:
        incident = IncidentFactory(channel=channel or self.channel, created_at=opened)
        TimelineEntryFactory(incident=incident, kind=Kind.CREATED, created_at=opened)
        if claim:
            after, who = claim
            at = opened + timedelta(seconds=after)
            incident.status, incident.claimed_by = Incident.Status.ACKNOWLEDGED, who
            incident.claimed_at = incident.first_claimed_at = at
            TimelineEntryFactory(incident=incident, kind=Kind.CLAIMED, actor=who, created_at=at)
        if close is not None:
            incident.status = Incident.Status.CLOSED
            incident.closed_at = opened + timedelta(seconds=close)
        incident.save()
        for key, source, events in alerts:
            AlertFactory(
                incident=incident,
                alert_key=key,
                title=f"{key} trouble",
                source=source,
                event_count=events,
                first_seen=opened,
            )
        for at, people in notified:
            TimelineEntryFactory(
                incident=incident,
                kind=Kind.NOTIFIED,
                created_at=at,
                data={
                    "notified": [display_name(p) for p in people],
                    "notified_users": [p.pk for p in people],
                },
            )
        self.incidents.append(incident)
        return incident


@pytest.fixture
def dataset(db) -> Dataset:
    d = Dataset()
    alice, bob, s1, s2 = d.alice, d.bob, d.s1, d.s2
    d.incident(
        local(2, 9),
        claim=(60, alice),
        close=600,
        alerts=[("disk", s1, 3), ("cpu", s2, 1)],
        notified=[(local(2, 9), [alice, bob])],
    )
    d.incident(
        local(2, 23, 30),
        claim=(120, bob),
        close=1200,
        alerts=[("disk", s1, 5)],
        notified=[(local(2, 23, 30), [bob]), (local(2, 23, 40), [alice, bob])],
    )
    d.incident(
        local(3, 2),
        claim=(600, alice),
        close=3600,
        alerts=[("cpu", s2, 1), ("disk", s1, 1), ("mem", s2, 2)],
        notified=[(local(3, 2), [alice])],
    )
    d.incident(
        local(4, 14),
        claim=(300, bob),
        alerts=[("cpu", s2, 1)],
        notified=[(local(4, 14), [bob])],
    )
    five = d.incident(
        local(6, 22), alerts=[("net", None, 1)], notified=[(local(6, 22), [alice, bob])]
    )
    # A notified entry written before people's ids were recorded: nobody to count it for.
    TimelineEntryFactory(incident=five, kind=Kind.NOTIFIED, created_at=local(6, 22, 5))
    # Outside the period (a minute before, and its first moment after), and another channel.
    for opened in (local(1, 0) - timedelta(minutes=1), local(8, 0)):
        d.incident(
            opened, claim=(5, alice), close=10, alerts=[("disk", s1, 1)],
            notified=[(opened, [alice])],
        )  # fmt: skip
    d.incident(
        local(3, 10), claim=(30, d.carol), alerts=[("pay", None, 1)], channel=d.other,
        notified=[(local(3, 10), [d.carol])],
    )  # fmt: skip
    return d


def scope_of(*channels: Any, target_minutes: int = 5) -> Scope:
    period = days_period(
        datetime.fromisoformat(FIRST_DAY).date(), datetime.fromisoformat(LAST_DAY).date(), SHANGHAI
    )
    return Scope([c.pk for c in channels], period, timedelta(minutes=target_minutes), Night(22, 8))


# --- The figures ------------------------------------------------------------------------------


def test_counts_noise_and_response_times_match_the_hand_computed_answers(dataset):
    summary = compute(scope_of(dataset.channel))["summary"]
    assert summary == {
        "incidents": 5,
        "alerts": 8,
        "events": 15,
        "alerts_per_incident": 1.6,
        "noise_reduction": 0.375,
        "acknowledged": 4,
        "acknowledged_share": 0.8,
        "ack_within_target": 3,
        "ack_within_target_share": 0.6,
        "closed": 3,
        "mtta_median": 210.0,
        "mtta_p90": 510.0,
        "mttr_median": 1200.0,
        "mttr_p90": 3120.0,
    }


def test_the_target_decides_what_counts_as_acknowledged_in_time(dataset):
    summary = compute(scope_of(dataset.channel, target_minutes=1))["summary"]
    assert (summary["ack_within_target"], summary["ack_within_target_share"]) == (1, 0.2)


def test_incidents_are_counted_by_local_day_hour_and_weekday(dataset):
    figures = compute(scope_of(dataset.channel))
    assert [row["incidents"] for row in figures["by_day"]] == [0, 2, 1, 1, 0, 1, 0]
    assert figures["by_day"][0]["date"] == FIRST_DAY
    by_hour = {row["hour"]: row["incidents"] for row in figures["by_hour"] if row["incidents"]}
    assert by_hour == {2: 1, 9: 1, 14: 1, 22: 1, 23: 1}
    assert len(figures["by_hour"]) == 24
    assert [row["incidents"] for row in figures["by_weekday"]] == [2, 1, 1, 0, 1, 0, 0]


def test_the_noisiest_alerts_and_sources_come_first(dataset):
    figures = compute(scope_of(dataset.channel))
    assert [(r["alert_key"], r["alerts"], r["events"]) for r in figures["top_alerts"]] == [
        ("disk", 3, 9),
        ("cpu", 3, 3),
        ("mem", 1, 2),
        ("net", 1, 1),
    ]
    assert figures["top_alerts"][0]["title"] == "disk trouble"
    sources = [
        (r["source"]["name"] if r["source"] else None, r["alerts"], r["events"])
        for r in figures["top_sources"]
    ]
    assert sources == [("Grafana", 4, 5), ("Prometheus", 3, 9), (None, 1, 1)]


def test_responders_load_counts_notifications_and_claims_and_nights(dataset):
    load = {
        row["user"]["username"]: (
            row["notifications"],
            row["night_notifications"],
            row["claims"],
            row["night_claims"],
        )
        for row in compute(scope_of(dataset.channel))["responders"]
    }
    assert load == {"alice": (4, 3, 2, 1), "bob": (5, 3, 2, 1)}


def test_overall_spans_the_channels_given_and_keeps_a_row_per_channel(dataset):
    figures = compute(scope_of(dataset.channel, dataset.other))
    assert figures["summary"]["incidents"] == 6
    assert figures["summary"]["alerts"] == 9
    # 30 s joins 60, 120, 300, 600: the median of five is the middle one.
    assert figures["summary"]["mtta_median"] == 120.0
    rows = {row["channel"]["name"]: row for row in figures["channels"]}
    assert (rows["Databases"]["incidents"], rows["Databases"]["mtta_median"]) == (5, 210.0)
    assert (rows["Payments"]["incidents"], rows["Payments"]["mtta_median"]) == (1, 30.0)
    assert rows["Payments"]["mttr_median"] is None  # never closed


def test_an_empty_period_has_zeros_and_no_times(db):
    channel = ChannelFactory()
    summary = compute(scope_of(channel))["summary"]
    assert summary["incidents"] == summary["alerts"] == 0
    assert summary["mtta_median"] is None
    assert summary["noise_reduction"] is None


def test_percentile_cont_interpolates_like_postgresql():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.9) == 7.0
    assert percentile_cont([60, 120, 300, 600], 0.5) == 210
    assert percentile_cont([60, 120, 300, 600], 0.9) == pytest.approx(510)


# --- What feeds them: first claims and who was notified ----------------------------------------


def test_the_first_claim_is_kept_through_unclaim_and_reopen(channel, responder):
    incident = IncidentFactory(channel=channel)
    actor = Actor(responder, "web")
    lifecycle.claim(incident, actor)
    first = Incident.objects.get(pk=incident.pk).first_claimed_at
    assert first is not None
    lifecycle.unclaim(incident, actor)
    lifecycle.claim(incident, actor)
    lifecycle.close(incident, actor)
    lifecycle.reopen(incident, actor)
    assert Incident.objects.get(pk=incident.pk).first_claimed_at == first


class NamingPlatform(PlatformBase):
    """Reaches everyone but ``unreachable``, naming them as Feishu's platform does."""

    name = "naming"

    def notify(self, incident: Any, rule: Any, level: Any, people: list[Any]) -> LevelReport:
        names = [display_name(p) for p in people]
        return LevelReport(
            [n for n in names if n != "Bob"],
            [n for n in names if n == "Bob"],
            [p.pk for p in people if display_name(p) != "Bob"],
        )


@pytest.mark.django_db(transaction=True)
def test_a_notified_entry_records_the_ids_of_the_people_reached(settings, channel):
    settings.CHAT_PLATFORMS = ["tests.test_insights.NamingPlatform"]
    alice = UserFactory(username="alice", first_name="Alice")
    bob = UserFactory(username="bob", first_name="Bob")
    channel.members.add(alice, bob)
    channel.escalation_rules.all().delete()
    rule = EscalationRule.objects.create(channel=channel, name="Primary", position=0)
    EscalationLevel.objects.create(rule=rule, position=1, notify_channel_members=True)
    incident = IncidentFactory(channel=channel, escalation_rule=rule)
    due = timezone.now() - timedelta(seconds=1)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=due)
    escalation.step(incident.pk, due.isoformat())
    entry = incident.timeline.get(kind=Kind.NOTIFIED)
    assert entry.data["notified"] == ["Alice"]
    assert entry.data["notified_users"] == [alice.pk]


class NamingPagerPlatform(NamingPlatform):
    def notify_people(self, incident: Any, people: list[Any], reason: str) -> LevelReport:
        return self.notify(incident, None, None, people)


@pytest.mark.django_db(transaction=True)
def test_an_assignment_counts_for_the_assignee_not_for_who_assigned(settings, channel):
    settings.CHAT_PLATFORMS = ["tests.test_insights.NamingPagerPlatform"]
    alice = UserFactory(username="alice", first_name="Alice")
    carol = UserFactory(username="carol", first_name="Carol")
    channel.members.add(alice, carol)
    incident = IncidentFactory(channel=channel, created_at=local(2, 9))

    lifecycle.assign_person(incident, Actor(carol, "web"), alice)

    load = {
        row["user"]["username"]: (row["notifications"], row["claims"])
        for row in compute(scope_of(channel))["responders"]
    }
    assert load == {"alice": (1, 0)}


# --- The period ------------------------------------------------------------------------------


def test_presets_are_whole_local_days_ending_today():
    now = datetime(2026, 11, 10, 1, 0, tzinfo=SHANGHAI)
    period = preset_period("7d", now, SHANGHAI)
    assert (period.start, period.end) == (local(4, 0), local(11, 0))
    assert len(period.days()) == 7


@pytest.mark.parametrize(
    ("since", "until", "code"),
    [
        ("2026-11-07", "2026-11-01", "invalid_range"),
        ("2026-11-07T10:00:00+08:00", "2026-11-07T10:00:00+08:00", "invalid_range"),
        ("2025-01-01", "2026-01-02", "range_too_long"),
        ("yesterday", "2026-11-01", "invalid_date"),
        ("2026-02-30", "2026-03-02", "invalid_date"),
        ("9999-12-30", "9999-12-31", "invalid_date"),
        ("0001-01-01T00:00:00+14:00", "0001-01-02", "invalid_date"),
    ],
)
def test_bad_api_periods_are_refused_with_a_code(since, until, code):
    with pytest.raises(BadPeriod) as refused:
        api_period(since, until, timezone.now(), SHANGHAI)
    assert refused.value.code == code


def test_a_year_with_a_leap_day_fits():
    period = api_period("2027-03-01", "2028-02-29", timezone.now(), SHANGHAI)
    assert len(period.days()) == 366


# --- The page and the CSV files -------------------------------------------------------------


def page_url(**params: str) -> str:
    query = {"period": "custom", "since": FIRST_DAY, "until": LAST_DAY, **params}
    return reverse("insights") + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_the_page_shows_the_figures_charts_and_tables(client, dataset):
    client.force_login(dataset.alice)
    response = client.get(page_url(channel=str(dataset.channel.public_id)))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 6  # days, hours, weekdays, alerts, sources, responders
    assert html.count('class="chart-column"') == 7 + 24 + 7
    assert "3 min 30 s" in html  # MTTA median, 210 s
    assert "37.5 %" in html  # noise reduction
    assert "disk trouble" in html
    assert "Payments" not in html  # not alice's channel
    assert 'href="/insights/" aria-current="page"' in html


def test_the_page_escapes_alert_titles(client, dataset):
    incident = dataset.incidents[0]
    AlertFactory(incident=incident, alert_key="x", title='<script>alert("x")</script>')
    client.force_login(dataset.alice)
    html = client.get(page_url()).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


def test_the_page_in_chinese(client, dataset):
    client.force_login(dataset.alice)
    html = client.get(page_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "洞察" in html
    assert "降噪率" in html


def test_a_bad_period_on_the_page_is_a_400_naming_it(client, dataset):
    client.force_login(dataset.alice)
    assert client.get(page_url(until="9999-12-31")).status_code == 400
    response = client.get(page_url(since=LAST_DAY, until=FIRST_DAY))
    assert response.status_code == 400
    assert "must be before its end" in response.content.decode()
    response = client.get(reverse("insights") + "?period=custom")
    assert response.status_code == 400
    assert "Choose the first day" in response.content.decode()


def test_a_responder_cannot_choose_another_teams_channel(client, dataset):
    client.force_login(dataset.alice)
    response = client.get(page_url(channel=str(dataset.other.public_id)))
    assert response.status_code == 400
    assert "Payments" not in response.content.decode()


def test_signed_out_people_are_sent_to_sign_in(client, db):
    response = client.get(reverse("insights"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def read_csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_files_hold_the_same_figures(client, dataset):
    client.force_login(dataset.alice)
    url = reverse("insights-export", args=["summary"]) + page_url()[len("/insights/") :]
    response = client.get(url)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "insights-summary-2026-11-01-2026-11-07.csv" in response["Content-Disposition"]
    header, row = read_csv(response)
    summary = dict(zip(header, row, strict=True))
    assert summary["incidents"] == "5"
    assert summary["mtta_median"] == "210.0"
    assert summary["mttr_p90"] == "3120.0"
    assert summary["time_zone"] == "Asia/Shanghai"
    query = page_url()[len("/insights/") :]
    responders = read_csv(client.get(reverse("insights-export", args=["responders"]) + query))
    assert responders[0] == [
        "username", "name", "notifications", "night_notifications", "claims", "night_claims",
    ]  # fmt: skip
    assert ["alice", "Alice", "4", "3", "2", "1"] in responders[1:]
    by_hour = read_csv(client.get(reverse("insights-export", args=["by_hour"]) + query))
    assert len(by_hour) == 25
    assert by_hour[10] == ["9", "1"]


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(client, dataset):
    AlertFactory(
        incident=dataset.incidents[0], alert_key="=HYPERLINK(1)", title="=1+1", event_count=99
    )
    client.force_login(dataset.alice)
    query = page_url()[len("/insights/") :]
    rows = read_csv(client.get(reverse("insights-export", args=["top_alerts"]) + query))
    assert ["'=HYPERLINK(1)", "'=1+1", "1", "99"] in rows


def test_an_unknown_csv_table_is_a_404_and_a_bad_period_a_400(client, dataset):
    client.force_login(dataset.alice)
    assert client.get(reverse("insights-export", args=["secrets"])).status_code == 404
    url = reverse("insights-export", args=["summary"]) + "?period=custom&since=2026-11-07"
    response = client.get(url)
    assert response.status_code == 400
    assert "until" in response.content.decode()


# --- The API ---------------------------------------------------------------------------------


def api_url(**params: str) -> str:
    query = {"since": FIRST_DAY, "until": LAST_DAY, **params}
    return "/api/v1/insights/?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_the_api_answers_the_figures_of_a_channel(dataset):
    response = api_as(dataset.bob).get(api_url(channel=str(dataset.channel.public_id)))
    assert response.status_code == 200
    body = response.json()
    assert body["channel"] == {"id": str(dataset.channel.public_id), "name": "Databases"}
    assert body["summary"]["mtta_p90"] == 510.0
    assert body["period"]["first_day"] == FIRST_DAY
    assert body["period"]["since"] == "2026-11-01T00:00:00+08:00"
    assert body["ack_target_seconds"] == 300
    assert [row["incidents"] for row in body["by_weekday"]] == [2, 1, 1, 0, 1, 0, 0]
    assert {"user", "notifications", "night_notifications", "claims", "night_claims"} <= set(
        body["responders"][0]
    )


def test_the_api_without_a_channel_covers_the_callers_channels_only(dataset):
    body = api_as(dataset.carol).get(api_url()).json()
    assert body["channel"] is None
    assert body["summary"]["incidents"] == 1
    assert [row["channel"]["name"] for row in body["channels"]] == ["Payments"]


def test_staff_who_may_view_incidents_see_every_channel(dataset):
    from tests.factories import staff_user

    auditor = staff_user("auditor", "oncall.view_incident")
    body = api_as(auditor).get(api_url()).json()
    assert body["summary"]["incidents"] == 6
    response = api_as(auditor).get(api_url(channel=str(dataset.other.public_id)))
    assert response.json()["summary"]["incidents"] == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"since": LAST_DAY, "until": FIRST_DAY}, "invalid_range"),
        ({"since": "2025-01-01", "until": "2026-06-01"}, "range_too_long"),
        ({"since": "soon"}, "invalid_date"),
        ({"channel": "not-a-uuid"}, "unknown_channel"),
        ({"channel": "9d4c3a1e-0000-4000-8000-000000000000"}, "unknown_channel"),
        ({"target": "0"}, "invalid_target"),
        ({"target": "five"}, "invalid_target"),
    ],
)
def test_bad_api_input_is_a_400_with_a_code_and_message(dataset, params, code):
    response = api_as(dataset.alice).get(api_url(**params))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_a_non_member_gets_the_same_answer_as_for_a_channel_that_does_not_exist(dataset):
    response = api_as(dataset.alice).get(api_url(channel=str(dataset.other.public_id)))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_channel"
    assert "Payments" not in response.content.decode()


def test_the_api_needs_a_signed_in_caller(client, db):
    assert client.get(api_url()).status_code in (401, 403)


def test_the_schema_documents_the_insights_endpoint(client, dataset):
    client.force_login(dataset.alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/insights/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"channel", "since", "until", "target"}
    assert {"200", "400"} <= set(operation["responses"])
    assert "mtta_median" in schema["components"]["schemas"]["ResponseFigures"]["properties"]


@pytest.mark.django_db(transaction=True)
def test_incidents_claimed_before_the_migration_take_their_first_claim_from_the_timeline():
    from tests.migrating import migrate

    try:
        old = migrate([("oncall", "0008_incident_acknowledged_by_source")])
        channel = old.get_model("oncall", "Channel").objects.create(name="Payments")
        incident_model = old.get_model("oncall", "Incident")
        entry_model = old.get_model("oncall", "TimelineEntry")
        claimed = incident_model.objects.create(
            channel=channel, number=51, title="Latency", group_key="a"
        )
        never = incident_model.objects.create(
            channel=channel, number=52, title="Errors", group_key="b"
        )
        for minute in (30, 10, 20):  # the earliest claim, whatever the order written
            entry_model.objects.create(
                incident=claimed,
                kind="claimed",
                message="Claimed",
                created_at=local(2, 9, minute),
            )
        entry_model.objects.create(incident=never, kind="created", message="Opened")
        migrate()

        assert Incident.objects.get(number=51).first_claimed_at == local(2, 9, 10)
        assert Incident.objects.get(number=52).first_claimed_at is None
    finally:
        migrate()


def test_someone_without_channels_sees_empty_figures(client, dataset):
    loner = UserFactory(username="loner")
    client.force_login(loner)
    response = client.get(page_url())
    assert response.status_code == 200
    body = api_as(loner).get(api_url()).json()
    assert body["summary"]["incidents"] == 0
    assert body["channels"] == []
    assert body["responders"] == []
