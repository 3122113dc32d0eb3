"""The schedule pages for responders: every schedule with who is on call now and next, one
schedule's two weeks drawn (rows on wide screens, shifts by day on a phone), and "My shifts"
on the account page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from django.urls import reverse

from oncall.models import ScheduleOverride
from tests.factories import ScheduleFactory, ScheduleLayerFactory, UserFactory

pytestmark = pytest.mark.django_db

# A Wednesday, 12:00 in Shanghai.
NOW = datetime(2026, 1, 7, 4, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def team():
    return [UserFactory(username=name, first_name=name.title()) for name in ("ann", "ben", "cat")]


@pytest.fixture
def primary(team):
    """Asia/Shanghai, weekly from Monday 2026-01-05 09:00: Ann, Ben, Cat."""
    layer = ScheduleLayerFactory(
        schedule=ScheduleFactory(name="SRE primary"),
        name="Weekly",
        people=team,
        handoff_time=time(9),
        rotation_unit="weeks",
        start_date=date(2026, 1, 5),
    )
    return layer.schedule


def test_the_list_names_who_is_on_call_now_and_next(frozen, signed_in, primary):
    page = signed_in.get(reverse("schedule-list"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "SRE primary" in html
    now_block = html.split('class="on-call-now"')[1].split('class="on-call-next"')[0]
    next_block = html.split('class="on-call-next"')[1]
    assert "Ann" in now_block
    assert "until Mon 12 Jan 09:00" in now_block
    assert "Ben" in next_block.split("</div>")[0]


def test_the_schedule_page_draws_two_weeks_in_the_schedules_zone(frozen, signed_in, primary, team):
    _, ben, cat = team
    ScheduleOverride.objects.create(
        schedule=primary,
        user=cat,
        start=datetime(2026, 1, 8, 1, tzinfo=UTC),  # Thu 09:00 in Shanghai
        end=datetime(2026, 1, 8, 10, tzinfo=UTC),  # Thu 18:00
        note="covering",
    )

    page = signed_in.get(reverse("schedule-detail", args=[primary.public_id]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Times in Asia/Shanghai." in html
    assert "Wed 7 Jan to Tue 20 Jan 2026" in html
    # One row per layer, the overrides, the final line.
    rows = [chunk.split('"')[0] for chunk in html.split('data-row="')[1:]]
    assert rows == ["layer", "overrides", "final"]
    # The final line: Ann until the override, Cat, Ann again, then Ben from Monday 09:00.
    final = html.split('data-row="final"')[1].split("</figure>")[0]
    assert [name for name in ("Ann", "Cat", "Ben") if name in final] == ["Ann", "Cat", "Ben"]
    # The day-by-day list (the timeline on a phone): whole shifts, each with a place for
    # actions on it, by the day they start.
    shifts = html.split('class="sched-days"')[1]
    assert '<time datetime="2026-01-08T01:00:00+00:00">09:00</time>' in shifts
    assert "Override: covering" in shifts
    assert shifts.count('class="shift-actions"') == 5  # Ann, Cat, Ann, Ben, Cat
    assert f'data-user="{ben.pk}" data-start="2026-01-12T01:00:00+00:00"' in shifts


def test_the_timeline_gives_way_to_the_day_list_on_a_phone(client):
    from django.contrib.staticfiles import finders

    css = open(finders.find("oncall/schedules.css")).read()  # noqa: SIM115
    narrow = css.split("@media (max-width: 40rem)")[1]
    assert ".sched-grid { display: none; }" in narrow


def test_from_pages_through_weeks_and_a_bad_date_is_explained(frozen, signed_in, primary):
    url = reverse("schedule-detail", args=[primary.public_id])

    later = signed_in.get(url, {"from": "2026-01-19"}).content.decode()
    assert "Mon 19 Jan to Sun 1 Feb 2026" in later
    assert "?from=2026-01-12" in later  # previous week
    assert "?from=2026-01-26" in later  # next week
    assert "?from=2026-01-07" in later  # back to today

    bad = signed_in.get(url, {"from": "next tuesday"})
    assert bad.status_code == 400
    assert "“next tuesday” is not a date: use YYYY-MM-DD" in bad.content.decode()
    far = signed_in.get(url, {"from": "9999-12-31"})
    assert far.status_code == 400
    assert "within ten years" in far.content.decode()


def test_a_schedule_with_nobody_says_so(frozen, signed_in):
    empty = ScheduleFactory(name="Empty")

    page = signed_in.get(reverse("schedule-detail", args=[empty.public_id])).content.decode()

    assert "Nobody in the next two weeks" in page
    assert "Nobody on call" in page  # the whole period is one gap


def test_schedules_need_a_signed_in_person(client, primary):
    page = client.get(reverse("schedule-list"))
    assert page.status_code == 302
    assert "/accounts/login/" in page["Location"]


def test_every_signed_in_person_sees_every_schedule(frozen, client, outsider, primary):
    client.force_login(outsider)  # a member of no channel
    assert client.get(reverse("schedule-detail", args=[primary.public_id])).status_code == 200


def test_my_shifts_lists_the_next_four_weeks_across_schedules(frozen, client, primary, team):
    ann = team[0]
    nights = ScheduleLayerFactory(
        schedule=ScheduleFactory(name="Nights", time_zone="Europe/Berlin"),
        name="Nightly",
        people=[ann],
        rotation_unit="days",
        handoff_time=time(22),
        start_date=date(2026, 1, 1),
        restrictions=[{"days": [5], "start": "22:00", "end": "06:00"}],
    ).schedule
    client.force_login(ann)

    html = client.get(reverse("account")).content.decode()

    mine = html.split('id="shifts-heading"')[1].split("</section>")[0]
    # Primary: this week (under way) and the week of Jan 26; Nights: Saturdays 22:00-06:00.
    assert "<strong>Now</strong> \N{EN DASH} <time" in mine
    assert "Mon 12 Jan 09:00" in mine  # the end of the shift under way
    assert "Mon 26 Jan 09:00" in mine
    saturday_night = '>Sat 10 Jan 22:00</time> \N{EN DASH} <time datetime="2026-01-11T05:00'
    assert saturday_night in mine
    assert ">Sun 11 Jan 06:00</time>" in mine
    assert mine.count(f'href="/schedules/{nights.public_id}/"') == 4
    assert mine.count(f'href="/schedules/{primary.public_id}/"') == 2
    assert "(Europe/Berlin)" in mine


def test_my_shifts_says_when_there_are_none(frozen, signed_in):
    html = signed_in.get(reverse("account")).content.decode()
    assert "You have no on-call shifts in the next four weeks." in html


def test_the_schedule_pages_speak_chinese(frozen, signed_in, primary):
    listed = signed_in.get(reverse("schedule-list"), HTTP_ACCEPT_LANGUAGE="zh-CN").content
    page = signed_in.get(
        reverse("schedule-detail", args=[primary.public_id]), HTTP_ACCEPT_LANGUAGE="zh-CN"
    ).content.decode()

    assert "当前值班" in listed.decode()
    assert "下一位值班" in listed.decode()
    assert "时间为 Asia/Shanghai 时区。" in page
    assert "上一周" in page
    assert "Previous week" not in page


def test_staff_who_may_change_schedules_get_a_link_to_the_admin(frozen, client, primary, team):
    page = reverse("schedule-detail", args=[primary.public_id])
    admin_link = reverse("admin:oncall_schedule_change", args=[primary.pk])
    client.force_login(team[0])
    assert admin_link not in client.get(page).content.decode()

    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    assert admin_link in client.get(page).content.decode()


def test_ones_own_coming_shifts_offer_to_give_them_away_and_nobody_elses(frozen, client, primary):
    ann, ben = (primary.layers.get().participants.get(position=p).user for p in (0, 1))
    swaps = reverse("schedule-swaps", args=[primary.public_id])

    client.force_login(ben)
    html = client.get(reverse("schedule-detail", args=[primary.public_id])).content.decode()

    # Ben's turns in the two weeks: the one from Mon 12 Jan 09:00 (01:00 UTC) is offered.
    assert f"{swaps}?start=2026-01-12T01%3A00%3A00%2B00%3A00" in html
    bens = [li for li in html.split('<li class="shift') if f'data-user="{ben.pk}"' in li]
    anns = [li for li in html.split('<li class="shift') if f'data-user="{ann.pk}"' in li]
    assert bens
    assert all("Give this shift away" in li for li in bens)
    assert anns
    assert not any("Give this shift away" in li for li in anns)
