"""Calendar feeds (``oncall.schedules.calendars``): what they hold, parsed back with
``icalendar``, the secret URLs (rotating, unknown tokens) and where people get them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar
from rest_framework.test import APIClient

from oncall import logfilters
from oncall.models import CalendarFeed, ScheduleOverride
from oncall.schedules import calendars, resolve
from tests.factories import ScheduleLayerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def people():
    return [
        UserFactory(username=name.lower(), first_name=name, last_name="Doe")
        for name in ("Alice", "Bob", "Carol")
    ]


@pytest.fixture
def weekly(people):
    """SRE primary, Asia/Shanghai, weekly from Monday 2026-01-05 09:00: alice, bob, carol;
    carol overrides on 2026-02-03."""
    schedule = ScheduleLayerFactory(
        schedule__name="SRE primary", people=people, handoff_time=time(9), rotation_unit="weeks"
    ).schedule
    ScheduleOverride.objects.create(
        schedule=schedule,
        user=people[2],
        start=utc(2026, 2, 3),
        end=utc(2026, 2, 4),
        note="dentist swap",
    )
    return schedule


def parsed(body: bytes) -> list:
    calendar = Calendar.from_ical(body)
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == calendars.PRODID
    return list(calendar.walk("VEVENT"))


def event_tuples(events) -> list[tuple[datetime, datetime, str]]:
    return [(e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"])) for e in events]


def feed_body(feed: CalendarFeed, now: datetime = NOW) -> bytes:
    return calendars.to_ical(calendars.feed_for(feed, now), now)


# --- What a feed holds ---------------------------------------------------------------------------


def test_a_schedules_feed_is_its_final_shifts_with_the_peoples_names(weekly, people):
    events = parsed(feed_body(calendars.feed_of_schedule(weekly)))

    first, last = utc(2026, 1, 6), utc(2026, 4, 21)  # 14 days back, 91 ahead, from 20 Jan 00:00
    expected = [
        s
        for s in resolve.final(weekly, first - calendars.WHOLE_SHIFT_MARGIN, last)
        if s.end > first
    ]
    names = {p.pk: p.get_full_name() for p in people}
    assert event_tuples(events) == [(s.start, s.end, names[s.user]) for s in expected]
    # The shift under way when the period begins is whole, the last one is cut at its end.
    assert events[0].decoded("DTSTART") == utc(2026, 1, 5, 1)  # Monday 09:00 in Shanghai
    assert events[-1].decoded("DTEND") == last
    assert str(events[0]["SUMMARY"]) == "Alice Doe"
    override = next(e for e in events if e.decoded("DTSTART") == utc(2026, 2, 3))
    assert (str(override["SUMMARY"]), str(override["DESCRIPTION"])) == (
        "Carol Doe",
        "Override: dentist swap",
    )
    assert all(e.decoded("DTSTAMP") == NOW for e in events)
    assert {str(e["TRANSP"]) for e in events} == {"TRANSPARENT"}


def test_a_persons_feed_is_their_shifts_across_schedules(weekly, people):
    bob = people[1]
    other = ScheduleLayerFactory(
        schedule__name="Databases",
        people=[bob],
        rotation_unit="days",
        start_date=date(2026, 1, 27),
        end_date=date(2026, 1, 29),
    ).schedule

    events = parsed(feed_body(calendars.feed_of_person(bob)))

    first, last = utc(2026, 1, 6), utc(2026, 4, 21)
    expected = [
        (s.start, s.end, f"On call: {schedule.name}")
        for schedule, s in resolve.shifts_of(bob, first - calendars.WHOLE_SHIFT_MARGIN, last)
        if s.end > first
    ]
    assert event_tuples(events) == expected
    assert {summary for _, _, summary in expected} == {"On call: SRE primary", "On call: Databases"}
    assert other.name == "Databases"


def test_uids_are_stable_from_fetch_to_fetch_and_day_to_day(weekly):
    feed = calendars.feed_of_schedule(weekly)
    today = {str(e["UID"]): e.decoded("DTSTART") for e in parsed(feed_body(feed))}
    again = {str(e["UID"]): e.decoded("DTSTART") for e in parsed(feed_body(feed))}
    tomorrow = {
        str(e["UID"]): e.decoded("DTSTART")
        for e in parsed(feed_body(feed, NOW + timedelta(days=1)))
    }

    assert today == again
    assert len(set(today)) == len(today)
    # Every event still in the feed a day later has the same UID for the same start.
    assert {uid: start for uid, start in tomorrow.items() if uid in today} == {
        uid: start for uid, start in today.items() if uid in tomorrow
    }
    assert len(set(today) & set(tomorrow)) >= len(today) - 1


def test_a_person_and_their_schedule_never_share_a_uid(weekly, people):
    schedule_uids = {str(e["UID"]) for e in parsed(feed_body(calendars.feed_of_schedule(weekly)))}
    person_uids = {str(e["UID"]) for e in parsed(feed_body(calendars.feed_of_person(people[0])))}
    assert person_uids
    assert not schedule_uids & person_uids


# --- The URL -------------------------------------------------------------------------------------


@pytest.fixture
def soon(people):
    """A schedule whose every shift is within any feed's period, whatever the day: daily turns
    from tomorrow for a week."""
    tomorrow = timezone.now().date() + timedelta(days=1)
    return ScheduleLayerFactory(
        schedule__name="Soon",
        people=people[:2],
        rotation_unit="days",
        start_date=tomorrow,
        end_date=tomorrow + timedelta(days=7),
    ).schedule


def path_of(feed: CalendarFeed) -> str:
    return reverse("calendar-feed", args=[feed.token])


def test_the_feed_url_answers_an_ical_calendar_matching_the_final_shifts(client, soon, people):
    feed = calendars.feed_of_schedule(soon)

    response = client.get(path_of(feed))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response["Cache-Control"]
    assert f"max-age={calendars.CACHE_SECONDS}" in response["Cache-Control"]
    now = timezone.now()
    expected = resolve.final(soon, now - timedelta(days=30), now + timedelta(days=30))
    names = {p.pk: p.get_full_name() for p in people}
    assert len(expected) == 7
    assert event_tuples(parsed(response.content)) == [
        (s.start, s.end, names[s.user]) for s in expected
    ]


def test_an_unchanged_feed_answers_304_to_its_etag(client, soon):
    path = path_of(calendars.feed_of_schedule(soon))
    etag = client.get(path)["ETag"]

    assert client.get(path, HTTP_IF_NONE_MATCH=etag).status_code == 304
    ScheduleOverride.objects.create(
        schedule=soon,
        user=UserFactory(),
        start=timezone.now() + timedelta(days=2),
        end=timezone.now() + timedelta(days=3),
    )
    changed = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_an_unchanged_feed_is_written_once_for_many_subscribers(client, soon, monkeypatch):
    written = []
    to_ical = calendars.to_ical
    monkeypatch.setattr(calendars, "to_ical", lambda *a: written.append(1) or to_ical(*a))
    path = path_of(calendars.feed_of_schedule(soon))

    assert client.get(path).content == client.get(path).content
    assert len(written) == 1


def test_uids_are_the_same_in_two_fetches_of_the_url(client, soon):
    path = path_of(calendars.feed_of_schedule(soon))
    first = [str(e["UID"]) for e in parsed(client.get(path).content)]
    second = [str(e["UID"]) for e in parsed(client.get(path).content)]
    assert first == second
    assert len(first) == 7


def test_a_rotated_url_is_404_at_once_and_like_an_unknown_one(client, soon):
    feed = calendars.feed_of_schedule(soon)
    old = path_of(feed)

    calendars.rotate(feed)

    gone, unknown = client.get(old), client.get("/calendars/not-a-token-at-all.ics")
    assert (gone.status_code, unknown.status_code) == (404, 404)
    assert gone.content == unknown.content
    assert client.get(path_of(feed)).status_code == 200


def test_a_feed_url_is_redacted_in_log_lines(client, soon, caplog):
    path = path_of(calendars.feed_of_schedule(soon))
    token = path.removeprefix("/calendars/").removesuffix(".ics")

    assert (
        logfilters.redact(f'"GET {path} HTTP/1.1" 200') == '"GET /calendars/<token> HTTP/1.1" 200'
    )
    with caplog.at_level("WARNING"):
        client.get("/calendars/nope-" + token + ".ics")
    assert "Not Found: /calendars/<token>" in caplog.text
    assert token not in caplog.text


def test_a_deactivated_persons_feed_is_404(client, people):
    feed = calendars.feed_of_person(people[0])
    people[0].is_active = False
    people[0].save()
    assert client.get(path_of(feed)).status_code == 404


def test_tokens_are_long_random_and_stored_encrypted(soon, people):
    feed = calendars.feed_of_schedule(soon)
    other = calendars.feed_of_person(people[0])

    assert len(feed.token) >= 43  # 256 bits
    assert feed.token != other.token
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM oncall_calendarfeed WHERE id = %s", [feed.pk])
        assert feed.token not in cursor.fetchone()[0]


# --- Where people get and rotate them ------------------------------------------------------------


def signed_in_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_my_calendar_page_shows_my_url_and_rotating_replaces_it(people):
    client = signed_in_as(people[0])
    feed = calendars.feed_of_person(people[0])

    page = client.get(reverse("account-calendar"))
    assert feed.url in page.content.decode()
    assert "no-store" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]

    response = client.post(reverse("account-calendar-rotate"), follow=True)

    feed.refresh_from_db()
    assert feed.url in response.content.decode()
    assert Client().get(path_of(feed)).status_code == 200


def test_rotating_needs_the_csrf_token(people):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people[0])
    token = calendars.feed_of_person(people[0]).token

    assert strict.post(reverse("account-calendar-rotate")).status_code == 403
    assert CalendarFeed.objects.get(user=people[0]).token == token


def test_a_schedules_url_is_rotated_only_with_the_change_schedule_permission(soon, people):
    feed = calendars.feed_of_schedule(soon)
    rotate_url = reverse("schedule-calendar-rotate", args=[soon.public_id])
    page = signed_in_as(people[0]).get(reverse("schedule-calendar", args=[soon.public_id]))
    assert feed.url in page.content.decode()
    assert rotate_url not in page.content.decode()

    assert signed_in_as(people[0]).post(rotate_url).status_code == 403
    feed.refresh_from_db()
    old_token = feed.token

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_schedule"))
    assert signed_in_as(staff).post(rotate_url).status_code == 302
    feed.refresh_from_db()
    assert feed.token != old_token


def test_the_calendar_page_speaks_chinese(people):
    page = signed_in_as(people[0]).get(reverse("account-calendar"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "我的值班日历" in page.content.decode()


def test_the_api_gives_and_rotates_the_urls(soon, people):
    api = APIClient()
    api.force_authenticate(people[0])

    mine = api.get("/api/v1/calendar-feeds/me/").json()
    rotated = api.post("/api/v1/calendar-feeds/me/rotate/").json()
    schedule_feed = api.get(f"/api/v1/calendar-feeds/schedules/{soon.public_id}/").json()
    refused = api.post(f"/api/v1/calendar-feeds/schedules/{soon.public_id}/rotate/")

    assert mine["kind"] == "person"
    assert rotated["url"] != mine["url"]
    assert rotated["url"] == calendars.feed_of_person(people[0]).url
    assert (schedule_feed["kind"], schedule_feed["schedule"]["name"]) == ("schedule", "Soon")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    assert APIClient().get("/api/v1/calendar-feeds/me/").status_code in (401, 403)
