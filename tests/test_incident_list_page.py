"""The incident list (``/incidents/``): who sees what, the filters, the order, the counts, the
live refresh's fragment, and a query count that does not grow with the data."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oncall.merge import next_incident_number
from oncall.models import Incident
from tests.factories import ChannelFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/incidents/"
Status = Incident.Status


def numbers_on(response) -> list[int]:
    """The incident numbers of the list's rows, in the order shown."""
    return [int(n) for n in re.findall(r'data-number="(\d+)"', response.content.decode())]


def count_of(response, state: str) -> int:
    match = re.search(rf'data-count="{state}">(\d+)<', response.content.decode())
    assert match, f"no count for {state}"
    return int(match.group(1))


def test_it_asks_someone_signed_out_to_sign_in(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={LIST}"


def test_home_is_the_incident_list_for_responders_and_staff(client, responder, admin_user):
    client.force_login(responder)
    assert client.get("/")["Location"] == LIST

    client.force_login(admin_user)
    assert client.get("/")["Location"] == LIST


def test_it_lists_only_the_incidents_of_the_users_channels(signed_in, channel):
    mine = IncidentFactory(channel=channel)
    IncidentFactory(channel=ChannelFactory(name="Payments"))

    response = signed_in.get(LIST)

    assert response.status_code == 200
    assert numbers_on(response) == [mine.number]
    assert "Payments" not in response.content.decode()


def test_open_incidents_come_most_urgent_first(signed_in, channel):
    now = timezone.now()
    old_critical = IncidentFactory(channel=channel, created_at=now - timedelta(hours=2))
    new_info = IncidentFactory(channel=channel, severity="info")
    claimed = IncidentFactory(channel=channel, status=Status.ACKNOWLEDGED)
    snoozed = IncidentFactory(channel=channel, snoozed_until=now + timedelta(hours=1))
    new_critical = IncidentFactory(channel=channel)
    IncidentFactory(channel=channel, status=Status.CLOSED, closed_at=now)

    response = signed_in.get(LIST)

    assert numbers_on(response) == [
        new_critical.number,
        old_critical.number,
        new_info.number,
        claimed.number,
        snoozed.number,
    ]


def test_newest_first_is_an_order_to_choose(signed_in, channel):
    first = IncidentFactory(channel=channel, created_at=timezone.now() - timedelta(minutes=5))
    second = IncidentFactory(channel=channel, severity="info")

    response = signed_in.get(LIST, {"sort": "newest"})

    assert numbers_on(response) == [second.number, first.number]


def test_it_counts_each_status_under_the_other_filters(signed_in, channel):
    now = timezone.now()
    IncidentFactory(channel=channel)
    IncidentFactory(channel=channel, severity="info")
    IncidentFactory(channel=channel, status=Status.ACKNOWLEDGED)
    IncidentFactory(channel=channel, status=Status.ACKNOWLEDGED, snoozed_until=now + timedelta(1))
    IncidentFactory(channel=channel, status=Status.CLOSED)
    # A snooze that ended is no longer counted as snoozed.
    IncidentFactory(channel=channel, snoozed_until=now - timedelta(minutes=1))

    everything = signed_in.get(LIST, {"state": "closed"})
    critical = signed_in.get(LIST, {"severity": "critical"})

    assert {s: count_of(everything, s) for s in ("triggered", "claimed", "snoozed", "closed")} == {
        "triggered": 3,
        "claimed": 1,
        "snoozed": 1,
        "closed": 1,
    }
    assert count_of(everything, "open") == 5
    assert count_of(everything, "all") == 6
    assert len(numbers_on(everything)) == 1
    assert count_of(critical, "triggered") == 2


@pytest.mark.parametrize(
    ("state", "expected"),
    [("triggered", ["t"]), ("claimed", ["c"]), ("snoozed", ["s"]), ("closed", ["x"])],
)
def test_a_status_tab_shows_that_status_only(signed_in, channel, state, expected):
    made = {
        "t": IncidentFactory(channel=channel),
        "c": IncidentFactory(channel=channel, status=Status.ACKNOWLEDGED),
        "s": IncidentFactory(channel=channel, snoozed_until=timezone.now() + timedelta(hours=1)),
        "x": IncidentFactory(channel=channel, status=Status.CLOSED),
    }

    response = signed_in.get(LIST, {"state": state})

    assert numbers_on(response) == [made[key].number for key in expected]


def test_filters_by_channel_severity_period_and_mine(signed_in, channel, responder):
    other = ChannelFactory(name="Database")
    other.members.add(responder)
    in_other = IncidentFactory(channel=other, severity="warning")
    old = IncidentFactory(channel=channel, created_at=timezone.now() - timedelta(days=3))
    mine = IncidentFactory(channel=channel, status=Status.ACKNOWLEDGED, claimed_by=responder)

    assert numbers_on(signed_in.get(LIST, {"channel": str(other.public_id)})) == [in_other.number]
    assert numbers_on(signed_in.get(LIST, {"severity": "warning"})) == [in_other.number]
    recent = numbers_on(signed_in.get(LIST, {"period": "24h"}))
    assert old.number not in recent
    assert len(recent) == 2
    assert numbers_on(signed_in.get(LIST, {"mine": "on"})) == [mine.number]


def test_a_channel_the_user_cannot_see_is_an_invalid_filter_not_a_leak(signed_in, channel):
    IncidentFactory(channel=channel)
    foreign = ChannelFactory(name="Secret")
    IncidentFactory(channel=foreign)

    response = signed_in.get(LIST, {"channel": str(foreign.public_id)})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert len(numbers_on(response)) == 1  # the other filters still apply; the channel is ignored


def test_search_finds_title_words_and_numbers(signed_in, channel):
    disk = IncidentFactory(channel=channel, title="Disk full on db-7")
    cpu = IncidentFactory(channel=channel, title="CPU hot on web-2")

    assert numbers_on(signed_in.get(LIST, {"q": "DISK"})) == [disk.number]
    assert numbers_on(signed_in.get(LIST, {"q": f"#{cpu.number}"})) == [cpu.number]
    assert numbers_on(signed_in.get(LIST, {"q": str(disk.number)})) == [disk.number]
    assert numbers_on(signed_in.get(LIST, {"q": "nothing like it"})) == []


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"state": "exploded"}, "exploded is not one of the available choices."),
        ({"severity": "apocalyptic"}, "apocalyptic is not one of the available choices."),
        ({"period": "forever"}, "forever is not one of the available choices."),
        ({"channel": "not-a-uuid"}, "is not a valid UUID."),
        ({"q": "x" * 5000}, "Ensure this value has at most 200 characters (it has 5000)."),
        ({"page": "-4"}, None),  # not a filter: the nearest page is shown
    ],
)
def test_bad_filter_values_are_reported_and_the_rest_still_applies(
    signed_in, channel, query, error
):
    shown = IncidentFactory(channel=channel)
    IncidentFactory(channel=channel, status=Status.CLOSED)  # still left out: the list is "open"

    response = signed_in.get(LIST, query)

    assert response.status_code == 200
    if error:
        assert error in response.content.decode()
    assert numbers_on(response) == [shown.number]


def filters_button(response) -> str:
    """The words of the button that folds the filters away on a phone, tags left out."""
    match = re.search(r"<summary[^>]*>(.*?)</summary>", response.content.decode(), re.S)
    assert match, "no filters button"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_the_filters_button_counts_the_filters_that_narrow_the_list(signed_in, channel):
    # The order and the status tab choose how the list shows, not what it holds.
    assert filters_button(signed_in.get(LIST, {"sort": "newest", "state": "all"})) == "Filters"

    narrowed = signed_in.get(LIST, {"severity": "critical", "q": "disk", "sort": "newest"})

    assert filters_button(narrowed) == "Filters 2 filters on"
    assert "Clear filters" in narrowed.content.decode()


def test_the_filters_unfold_when_a_value_needs_fixing(signed_in):
    fine = signed_in.get(LIST, {"severity": "critical"}).content.decode()
    wrong = signed_in.get(LIST, {"severity": "apocalyptic"}).content.decode()

    assert '<details class="filters-fold">' in fine
    assert '<details class="filters-fold" open>' in wrong


def test_rows_and_results_carry_the_servers_times_for_the_new_marks(signed_in, channel):
    created = timezone.now() - timedelta(minutes=3)
    incident = IncidentFactory(channel=channel, created_at=created)
    before = timezone.now()

    for response in (signed_in.get(LIST), signed_in.get(LIST, HTTP_X_LIVE_REFRESH="1")):
        body = response.content.decode()
        assert f'data-created="{int(created.timestamp() * 1000)}"' in body
        rendered = int(re.search(r'data-rendered-at="(\d+)"', body).group(1))
        assert before.timestamp() * 1000 - 1 <= rendered <= timezone.now().timestamp() * 1000
        assert f'data-number="{incident.number}"' in body


@pytest.mark.parametrize(
    ("query", "everything"),
    [
        ({}, True),
        ({"sort": "newest"}, True),
        ({"state": "closed"}, False),
        ({"severity": "critical"}, False),
        ({"page": "2"}, False),
    ],
)
def test_only_the_whole_open_list_counts_as_a_look_at_everything_new(
    signed_in, channel, query, everything
):
    for _ in range(51):
        IncidentFactory(channel=channel)

    body = signed_in.get(LIST, query).content.decode()

    assert ("data-shows-everything-new" in body) is everything


def test_the_new_marks_and_notifications_speak_the_readers_language(signed_in):
    english = signed_in.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = signed_in.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    assert "oncall/new_incidents" in english
    assert "Notify me of new incidents" in english
    assert 'data-new="New"' in english
    assert "新故障时通知我" in chinese
    assert 'data-new="新"' in chinese
    assert 'data-blocked-label="通知已被阻止"' in chinese
    assert "Notify me" not in chinese
    assert "{#" not in english  # a template comment left unparsed would show on the page


def test_the_live_refresh_gets_the_results_alone(signed_in, channel):
    incident = IncidentFactory(channel=channel, title="Queue backlog growing")

    response = signed_in.get(LIST, HTTP_X_LIVE_REFRESH="1")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert f'data-number="{incident.number}"' in body
    assert "Queue backlog growing" in body
    assert "X-Live-Refresh" in response["Vary"]
    assert "no-store" in response["Cache-Control"]


def test_the_page_says_how_often_it_refreshes(signed_in, settings):
    settings.INCIDENT_LIST_REFRESH_SECONDS = 7

    body = signed_in.get(LIST).content.decode()

    assert 'data-refresh-seconds="7"' in body
    assert "oncall/live_list" in body


def test_pages_of_fifty(signed_in, channel):
    for _ in range(55):
        IncidentFactory(channel=channel)

    first = signed_in.get(LIST)
    second = signed_in.get(LIST, {"page": "2"})

    assert len(numbers_on(first)) == 50
    assert len(numbers_on(second)) == 5
    assert 'rel="next"' in first.content.decode()
    assert set(numbers_on(first)).isdisjoint(numbers_on(second))


def test_tabs_and_page_links_keep_the_filters(signed_in, channel):
    for _ in range(55):
        IncidentFactory(channel=channel)

    body = signed_in.get(LIST, {"severity": "critical", "page": "2"}).content.decode()

    # A tab starts on its first page; a page link keeps the filters.
    assert 'href="?severity=critical&amp;state=closed"' in body
    assert 'href="?severity=critical&amp;page=1" rel="prev"' in body


def _many_incidents(channel, count: int) -> None:
    now = timezone.now()
    severities = ["critical", "warning", "info"]
    statuses = [Status.TRIGGERED, Status.ACKNOWLEDGED, Status.CLOSED]
    first = next_incident_number()
    Incident.objects.bulk_create(
        [
            Incident(
                number=first + i,
                channel=channel,
                title=f"Generated incident {i}",
                severity=severities[i % 3],
                status=statuses[(i // 3) % 3],
                group_key=f"bulk:{i}",
                created_at=now - timedelta(seconds=i),
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


def _queries_for_first_page(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, {"state": "all"})
    assert response.status_code == 200
    assert len(numbers_on(response)) >= 1
    return len(captured.captured_queries)


def test_the_first_page_costs_the_same_queries_with_ten_thousand_incidents(
    client, responder, channel
):
    # A second channel and a claimer, so joins and the channel filter have something to do.
    ChannelFactory(name="Other").members.add(responder)
    claimer = UserFactory(username="bob")
    IncidentFactory(channel=channel, status=Status.ACKNOWLEDGED, claimed_by=claimer)
    client.force_login(responder)
    few = _queries_for_first_page(client)

    _many_incidents(channel, 10_000)
    many = _queries_for_first_page(client)

    assert Incident.objects.count() == 10_001
    assert many == few
    assert many <= 8
