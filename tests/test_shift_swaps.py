"""Shift swaps (``oncall.schedules.swaps``): asking, taking, cancelling and the refusals, and
their page (``/schedules/<id>/swaps/``) and API (``/api/v1/shift-swaps/``)."""

from __future__ import annotations

import importlib
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin as django_admin
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from oncall.admin.schedule_swaps import ShiftSwapInline
from oncall.models import ScheduleOverride, ShiftSwap
from oncall.platforms import LevelReport, PlatformBase, person_name
from oncall.schedules import resolve, swaps
from tests.factories import ScheduleLayerFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
Status = ShiftSwap.Status


def first_day() -> date:
    """The rotation starts three days from now, so that every shift in these tests is ahead."""
    return timezone.now().astimezone(SHANGHAI).date() + timedelta(days=3)


def at_nine(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=SHANGHAI)


@pytest.fixture
def people():
    return [
        UserFactory(username=username, first_name=first, last_name=last)
        for username, first, last in [("alice", "Alice", "Chen"), ("bob", "Bob", "Li")]
    ] + [UserFactory(username="carol", first_name="Carol", last_name="Wu")]


@pytest.fixture
def alice(people):
    return people[0]


@pytest.fixture
def bob(people):
    return people[1]


@pytest.fixture
def carol(people):
    return people[2]


@pytest.fixture
def schedule(people):
    """Daily turns at 09:00 Shanghai from three days ahead: alice, bob, carol, alice, ..."""
    return ScheduleLayerFactory(
        schedule__name="SRE primary",
        people=people,
        handoff_time=time(9),
        rotation_unit="days",
        start_date=first_day(),
    ).schedule


@pytest.fixture
def alices_day():
    start = at_nine(first_day())
    return start, start + timedelta(days=1)


def on_call_at(schedule, moment):
    return resolve.responder(schedule, moment).user


# --- The service ---------------------------------------------------------------------------------


def test_taking_a_shift_puts_the_taker_in_with_an_override_that_says_who_agreed(
    schedule, alice, bob, alices_day
):
    start, end = alices_day
    swap = swaps.ask(schedule, alice, start, end, "dentist")

    taken = swaps.take(swap, bob)

    override = ScheduleOverride.objects.get()
    assert (override.user, override.start, override.end, override.created_by) == (
        bob,
        start,
        end,
        bob,
    )
    assert (
        override.note
        == "Swap: Bob Li takes Alice Chen's shift, asked by Alice Chen, agreed by Bob Li"
    )
    swap.refresh_from_db()
    assert (swap.status, swap.taken_by, swap.override, taken.override) == (
        Status.TAKEN,
        bob,
        override,
        override,
    )
    assert on_call_at(schedule, start + timedelta(hours=5)) == bob
    assert on_call_at(schedule, end + timedelta(hours=1)) == bob  # his own turn follows


def test_giving_away_part_of_a_shift_leaves_the_rest_to_the_requester(
    schedule, alice, carol, alices_day
):
    start, _ = alices_day
    part = (start + timedelta(hours=3), start + timedelta(hours=6))
    swaps.take(swaps.ask(schedule, alice, *part), carol)

    shifts = resolve.final(schedule, start, start + timedelta(days=1))

    assert [(s.start, s.end, s.user) for s in shifts] == [
        (start, part[0], alice.pk),
        (part[0], part[1], carol.pk),
        (part[1], start + timedelta(days=1), alice.pk),
    ]


def test_you_can_only_give_away_time_you_are_on_call_for(schedule, alice, alices_day):
    start, end = alices_day

    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.ask(schedule, alice, start, end + timedelta(hours=1))

    assert refused.value.code == "not_on_call"
    assert "Alice Chen is not on call for all of" in refused.value.message
    assert not ShiftSwap.objects.exists()


def test_time_that_has_passed_cannot_be_given_away(schedule, alice, alices_day):
    start, end = alices_day
    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.ask(schedule, alice, start, end, now=end)
    assert (refused.value.code, refused.value.kind) == ("in_the_past", "invalid")


def test_a_period_that_has_begun_gives_away_its_rest(schedule, alice, alices_day):
    start, end = alices_day
    now = start + timedelta(hours=2)
    swap = swaps.ask(schedule, alice, start, end, now=now)
    assert (swap.start, swap.end) == (now, end)


def test_a_period_beyond_the_horizon_is_refused_before_any_arithmetic(schedule, alice):
    now = timezone.now()
    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.ask(schedule, alice, now + timedelta(days=1), datetime(9999, 1, 1, tzinfo=SHANGHAI))
    assert (refused.value.code, refused.value.kind) == ("too_far", "invalid")
    assert "the next 90 days" in refused.value.message


def test_an_end_before_the_start_is_refused(schedule, alice, alices_day):
    start, end = alices_day
    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.ask(schedule, alice, end, start)
    assert refused.value.code == "invalid_period"


def test_asking_twice_for_the_same_time_names_the_first_request(schedule, alice, alices_day):
    start, end = alices_day
    first = swaps.ask(schedule, alice, start, end)

    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.ask(schedule, alice, start + timedelta(hours=1), end)

    assert refused.value.code == "already_asked"
    assert f"(request #{first.pk})" in refused.value.message


def test_the_requester_cannot_take_their_own_request(schedule, alice, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.take(swap, alice)
    assert (refused.value.code, refused.value.kind) == ("own_request", "forbidden")


def test_only_the_people_of_the_rotations_may_take(schedule, alice, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.take(swap, UserFactory())
    assert refused.value.code == "not_participant"
    assert "SRE primary" in refused.value.message
    assert not ScheduleOverride.objects.exists()


def test_taking_twice_gives_one_override_and_names_who_was_first(
    schedule, alice, bob, carol, alices_day
):
    swap = swaps.ask(schedule, alice, *alices_day)
    swaps.take(swap, bob)

    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.take(swap, carol)

    assert refused.value.code == "already_taken"
    assert refused.value.message.startswith("Already taken by Bob Li at ")
    assert ScheduleOverride.objects.count() == 1


def test_an_override_in_the_period_is_refused_saying_which(schedule, alice, bob, carol, alices_day):
    start, end = alices_day
    swap = swaps.ask(schedule, alice, start, end)
    ScheduleOverride.objects.create(
        schedule=schedule, user=carol, start=start + timedelta(hours=2), end=end
    )

    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.take(swap, bob)

    local = (start + timedelta(hours=2)).astimezone(SHANGHAI)
    assert refused.value.code == "override_exists"
    assert refused.value.message.startswith(f"Carol Wu's override from {local:%Y-%m-%d %H:%M} to ")
    assert ShiftSwap.objects.get().status == Status.OPEN
    assert ScheduleOverride.objects.count() == 1


def test_a_request_under_way_gives_the_taker_the_rest_of_it(schedule, alice, bob, alices_day):
    start, end = alices_day
    swap = swaps.ask(schedule, alice, start, end)
    later = start + timedelta(hours=5)

    taken = swaps.take(swap, bob, now=later)

    assert (taken.override.start, taken.override.end) == (later, end)
    assert on_call_at(schedule, later - timedelta(minutes=1)) == alice
    assert on_call_at(schedule, later) == bob


def test_a_request_whose_end_has_passed_expires(schedule, alice, bob, alices_day):
    start, end = alices_day
    swap = swaps.ask(schedule, alice, start, end)

    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.take(swap, bob, now=end)
    assert (refused.value.code, refused.value.message) == (
        "expired",
        "This request has expired: its time is over.",
    )

    assert swaps.expire_passed(end - timedelta(minutes=1)) == 0
    assert swaps.expire_passed(end) == 1
    swap.refresh_from_db()
    assert swap.status == Status.EXPIRED
    assert list(swaps.takeable_by(bob, end)) == []
    assert not ScheduleOverride.objects.exists()


def test_the_requester_may_cancel_an_open_request_and_nobody_else(schedule, alice, bob, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)

    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.cancel(swap, bob)
    assert refused.value.code == "not_requester"

    swaps.cancel(swap, alice)
    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.take(swap, bob)
    assert (refused.value.code, refused.value.message) == (
        "cancelled",
        "Alice Chen cancelled this request.",
    )


def test_a_taken_request_cannot_be_cancelled(schedule, alice, bob, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    swaps.take(swap, bob)
    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.cancel(swap, alice)
    assert refused.value.code == "already_taken"


def test_the_schedule_changing_after_the_request_is_caught_when_taking(
    schedule, alice, bob, alices_day
):
    swap = swaps.ask(schedule, alice, *alices_day)
    layer = schedule.layers.get()
    layer.participants.filter(user=alice).delete()

    with pytest.raises(swaps.SwapRefused) as refused:
        swaps.take(swap, bob)

    assert refused.value.code == "not_on_call"


def test_takeable_lists_the_others_requests_of_my_schedules(schedule, alice, bob, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    ScheduleLayerFactory(people=[UserFactory()])  # another schedule, with a stranger

    assert list(swaps.takeable_by(bob)) == [swap]
    assert list(swaps.takeable_by(alice)) == []
    alice.is_active = False
    alice.save()
    assert list(swaps.takeable_by(bob)) == []  # her turns are gaps now: nothing to take


class RecordingPlatform(PlatformBase):
    """Records every notice it is asked to send."""

    name = "recording"
    sent: ClassVar[list[tuple[list[str], str, str]]] = []

    def send_notice(self, people: list[Any], text: str, *, key: str) -> LevelReport:
        self.sent.append(([user.username for user in people], text, key))
        return LevelReport([person_name(u) for u in people])


@pytest.fixture
def notices(settings):
    importlib.import_module(settings.ROOT_URLCONF)  # built with the console's platforms first
    settings.CHAT_PLATFORMS = ["tests.test_shift_swaps.RecordingPlatform"]
    RecordingPlatform.sent.clear()
    return RecordingPlatform.sent


def test_the_others_hear_of_a_request_and_the_requester_of_its_taker(
    notices, schedule, alice, bob, carol, alices_day
):
    start, end = alices_day
    swap = swaps.ask(schedule, alice, start, end, "wedding")
    swaps.take(swap, bob)

    period = swaps.period_text(schedule, start, end)
    (asked_people, asked_text, asked_key), (taken_people, taken_text, taken_key) = notices
    assert sorted(asked_people) == ["bob", "carol"]
    assert asked_text.startswith(
        f"Alice Chen asks someone to take SRE primary, {period} (request #{swap.pk}). Take it at "
    )
    assert asked_text.endswith("/swaps/\n“wedding”")
    assert f"/schedules/{schedule.public_id}/swaps/" in asked_text
    assert (taken_people, taken_text) == (
        ["alice"],
        f"Bob Li took your shift of SRE primary, {period}: they are on call then instead of you.",
    )
    assert asked_key != taken_key
    assert len(f"{asked_key}-{2**31}") <= 50  # a Feishu message uuid


# --- The page ------------------------------------------------------------------------------------


def swaps_url(schedule) -> str:
    return reverse("schedule-swaps", args=[schedule.public_id])


def signed_in_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def choice_of(user, schedule, shift) -> str:
    """The value of ``shift`` among the form's choices on ``user``'s page (labelled by it)."""
    form = signed_in_as(user).get(swaps_url(schedule)).context["form"]
    label = swaps.period_text(schedule, shift.start, shift.end)
    (value,) = [value for value, text in form.fields["shift"].choices if text == label]
    return value


def test_the_page_lists_open_requests_with_take_for_others_and_cancel_for_mine(
    schedule, alice, bob, alices_day
):
    swap = swaps.ask(schedule, alice, *alices_day, note="<b>wedding</b>")
    take_url = reverse("schedule-swap-take", args=[schedule.public_id, swap.public_id])
    cancel_url = reverse("schedule-swap-cancel", args=[schedule.public_id, swap.public_id])

    as_bob = signed_in_as(bob).get(swaps_url(schedule)).content.decode()
    as_alice = signed_in_as(alice).get(swaps_url(schedule)).content.decode()

    assert take_url in as_bob
    assert cancel_url not in as_bob
    assert cancel_url in as_alice
    assert take_url not in as_alice
    assert "Asked by Alice Chen" in as_bob
    assert "&lt;b&gt;wedding&lt;/b&gt;" in as_bob
    assert "<b>wedding" not in as_bob


def test_asking_for_part_of_a_shift_from_the_page(schedule, alice, alices_day):
    start, end = alices_day
    shifts = swaps.upcoming_shifts(schedule, alice)
    shift_key = choice_of(alice, schedule, shifts[0])
    local_from = (start + timedelta(hours=2)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")

    response = signed_in_as(alice).post(
        swaps_url(schedule), {"shift": shift_key, "start": local_from, "end": "", "note": "gym"}
    )

    assert response.status_code == 302
    swap = ShiftSwap.objects.get()
    assert (swap.start, swap.end, swap.note, swap.requester) == (
        start + timedelta(hours=2),
        end,
        "gym",
        alice,
    )


def test_the_rest_of_the_shift_under_way_can_be_given_away_from_the_page(alice, bob):
    """Its start on the page is the moment the page was drawn; the POST, later, still finds
    it and gives away from the POST's moment."""
    yesterday = timezone.now().astimezone(SHANGHAI).date() - timedelta(days=1)
    schedule = ScheduleLayerFactory(
        people=[alice, bob], rotation_unit="weeks", start_date=yesterday
    ).schedule
    (under_way, *_) = swaps.upcoming_shifts(schedule, alice)
    choice = choice_of(alice, schedule, under_way)
    before = timezone.now()

    response = signed_in_as(alice).post(swaps_url(schedule), {"shift": choice})

    assert response.status_code == 302
    swap = ShiftSwap.objects.get()
    assert before <= swap.start <= timezone.now()
    assert swap.end == under_way.end


def test_a_link_from_a_shift_preselects_it_and_the_part(schedule, alice, alices_day):
    start, _ = alices_day
    part_end = start + timedelta(hours=4)

    page = signed_in_as(alice).get(
        swaps_url(schedule), {"start": start.isoformat(), "end": part_end.isoformat()}
    )

    form = page.context["form"]
    shift = swaps.upcoming_shifts(schedule, alice)[0]
    assert form["shift"].value() == choice_of(alice, schedule, shift)
    assert form["start"].value() is None
    assert form["end"].value() == part_end.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    assert signed_in_as(alice).get(swaps_url(schedule), {"start": "garbage"}).status_code == 200


def test_the_hub_lists_what_i_can_take_my_requests_and_my_shifts(schedule, alice, bob, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    take_url = reverse("schedule-swap-take", args=[schedule.public_id, swap.public_id])

    as_bob = signed_in_as(bob).get(reverse("swap-hub")).content.decode()
    as_alice = signed_in_as(alice).get(reverse("swap-hub")).content.decode()

    assert take_url in as_bob
    assert 'name="back" value="hub"' in as_bob
    assert take_url not in as_alice
    assert reverse("schedule-swap-cancel", args=[schedule.public_id, swap.public_id]) in as_alice
    # Bob's own next turn (the day after Alice's) can be given away from its schedule's page.
    bobs = swaps.upcoming_shifts(schedule, bob)[0]
    assert f"?start={quote(timezone.localtime(bobs.start).isoformat())}" in as_bob

    taken = signed_in_as(bob).post(take_url, {"back": "hub"})
    assert taken.url == reverse("swap-hub")


def test_a_period_outside_the_chosen_shift_is_refused_on_the_page(schedule, alice, alices_day):
    start, _ = alices_day
    shift = swaps.upcoming_shifts(schedule, alice)[0]
    before = (start - timedelta(hours=1)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")

    response = signed_in_as(alice).post(
        swaps_url(schedule),
        {"shift": choice_of(alice, schedule, shift), "start": before},
    )

    assert response.status_code == 400
    assert "must lie within the shift you chose" in response.content.decode()
    assert not ShiftSwap.objects.exists()


def test_taking_from_the_page(schedule, alice, bob, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    client = signed_in_as(bob)

    response = client.post(
        reverse("schedule-swap-take", args=[schedule.public_id, swap.public_id]), follow=True
    )

    assert "instead of Alice Chen" in response.content.decode()
    assert ScheduleOverride.objects.get().user == bob
    again = client.post(
        reverse("schedule-swap-take", args=[schedule.public_id, swap.public_id]), follow=True
    )
    assert "Already taken by Bob Li" in again.content.decode()


def test_the_page_forms_need_the_csrf_token(schedule, alice, bob, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(bob)

    response = strict.post(reverse("schedule-swap-take", args=[schedule.public_id, swap.public_id]))

    assert response.status_code == 403
    assert not ScheduleOverride.objects.exists()


def test_the_page_speaks_chinese(schedule, alice):
    page = signed_in_as(alice).get(swaps_url(schedule), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "放弃一个班次" in page.content.decode()


def test_someone_elses_swap_is_404_on_the_page(schedule, alice, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    stranger = signed_in_as(UserFactory())
    url = reverse("schedule-swap-take", args=[schedule.public_id, swap.public_id])
    assert stranger.post(url).status_code == 404


# --- The API -------------------------------------------------------------------------------------


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_asks_lists_takes_and_refuses_a_second_taker(
    schedule, alice, bob, carol, alices_day
):
    start, end = alices_day
    created = api_as(alice).post(
        "/api/v1/shift-swaps/",
        {"schedule": str(schedule.public_id), "start": start.isoformat(), "end": end.isoformat()},
        format="json",
    )
    assert created.status_code == 201, created.content
    swap_id = created.json()["id"]

    listed = api_as(bob).get("/api/v1/shift-swaps/").json()["results"]
    assert [(s["id"], s["can_take"], s["requester"]["name"]) for s in listed] == [
        (swap_id, True, "Alice Chen")
    ]

    taken = api_as(bob).post(f"/api/v1/shift-swaps/{swap_id}/take/")
    assert taken.status_code == 200
    assert (taken.json()["status"], taken.json()["taken_by"]["name"]) == ("taken", "Bob Li")

    second = api_as(carol).post(f"/api/v1/shift-swaps/{swap_id}/take/")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_taken"
    assert ScheduleOverride.objects.count() == 1
    assert api_as(bob).get("/api/v1/shift-swaps/").json()["results"] == []


def test_the_api_refusals_have_a_code_and_a_message(schedule, alice, bob, alices_day):
    start, end = alices_day
    not_mine = api_as(bob).post(
        "/api/v1/shift-swaps/",
        {"schedule": str(schedule.public_id), "start": start.isoformat(), "end": end.isoformat()},
        format="json",
    )
    assert not_mine.status_code == 409
    assert not_mine.json()["error"]["code"] == "not_on_call"

    swap = swaps.ask(schedule, alice, start, end)
    cancel = api_as(bob).post(f"/api/v1/shift-swaps/{swap.public_id}/cancel/")
    assert (cancel.status_code, cancel.json()["error"]["code"]) == (403, "not_requester")
    own = api_as(alice).post(f"/api/v1/shift-swaps/{swap.public_id}/take/")
    assert (own.status_code, own.json()["error"]["code"]) == (403, "own_request")

    garbage = api_as(alice).post(
        "/api/v1/shift-swaps/", {"schedule": "nope", "start": "soon"}, format="json"
    )
    assert garbage.status_code == 400
    assert set(garbage.json()["error"]["fields"]) == {"schedule", "start", "end"}
    assert api_as(bob).get("/api/v1/shift-swaps/?status=maybe").status_code == 400


def test_the_api_cancels_and_lists_by_status(schedule, alice, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)

    response = api_as(alice).post(f"/api/v1/shift-swaps/{swap.public_id}/cancel/")

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    cancelled = api_as(alice).get("/api/v1/shift-swaps/?status=cancelled").json()["results"]
    assert [s["id"] for s in cancelled] == [str(swap.public_id)]


def test_strangers_see_no_swaps_and_anonymous_callers_are_refused(schedule, alice, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    stranger = api_as(UserFactory())

    assert stranger.get("/api/v1/shift-swaps/").json()["results"] == []
    assert stranger.post(f"/api/v1/shift-swaps/{swap.public_id}/take/").status_code == 404
    assert APIClient().get("/api/v1/shift-swaps/").status_code in (401, 403)


def test_the_admin_lists_swaps_read_only(schedule, alice, alices_day):
    swap = swaps.ask(schedule, alice, *alices_day)
    admin = signed_in_as(UserFactory(is_staff=True, is_superuser=True))

    listed = admin.get(reverse("admin:oncall_shiftswap_changelist"))
    shown = admin.get(reverse("admin:oncall_shiftswap_change", args=[swap.pk]))

    assert listed.status_code == shown.status_code == 200
    assert "SRE primary" in listed.content.decode()
    assert 'name="_save"' not in shown.content.decode()
    assert admin.get(reverse("admin:oncall_shiftswap_add")).status_code == 403


def test_the_schedule_admins_inline_shows_open_and_recent_swaps(schedule, alice, bob, alices_day):
    start, end = alices_day
    old = swaps.ask(schedule, alice, start, start + timedelta(hours=1))
    swaps.cancel(old, alice)
    ShiftSwap.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    recent = swaps.ask(schedule, alice, start + timedelta(hours=1), start + timedelta(hours=2))
    swaps.cancel(recent, alice)
    still_open = swaps.ask(schedule, alice, start + timedelta(hours=2), end)
    ShiftSwap.objects.filter(pk=still_open.pk).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)

    shown = ShiftSwapInline(type(schedule), django_admin.site).get_queryset(request)

    assert set(shown) == {recent, still_open}


def test_the_schema_documents_the_swap_endpoints():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {
        "/api/v1/shift-swaps/",
        "/api/v1/shift-swaps/{public_id}/take/",
        "/api/v1/shift-swaps/{public_id}/cancel/",
        "/api/v1/calendar-feeds/me/rotate/",
    } <= set(schema["paths"])
