"""Schedules in the admin: layers with their participants in turn order, overrides that may
not overlap, the warnings that do not refuse, and the preview of the next two weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from oncall.models import LayerParticipant, Schedule, ScheduleLayer, ScheduleOverride
from tests.factories import ScheduleFactory, ScheduleLayerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return [UserFactory(username=n, first_name=n.title()) for n in ("ann", "ben", "cat")]


def management(prefix: str, total: int, initial: int = 0) -> dict[str, str]:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial)}


def layer_fields(index: int, **values: str) -> dict[str, str]:
    fields = {
        "name": "Weekly",
        "position": "0",
        "start_date": "2026-01-05",
        "handoff_time": "09:00",
        "rotation_every": "1",
        "rotation_unit": "weeks",
        "end_date": "",
        "restrictions": "[]",
        "people": "",
        **values,
    }
    return {f"layers-{index}-{key}": value for key, value in fields.items()}


def schedule_form(*layers: dict[str, str], overrides: tuple = (), **values: str) -> dict:
    form = {
        "name": "SRE primary",
        "description": "",
        "time_zone": "Asia/Shanghai",
        **management("layers", len(layers)),
        **management("overrides", len(overrides)),
        **management("swaps", 0),  # the read-only list of the schedule's swaps
        **values,
    }
    for layer in layers:
        form.update(layer)
    for index, override in enumerate(overrides):
        form.update({f"overrides-{index}-{key}": value for key, value in override.items()})
    return form


def test_an_admin_adds_a_schedule_with_a_layer_and_its_people_in_order(admin_client, team):
    form = schedule_form(layer_fields(0, people="cat\n ann \n\nben\n"))

    response = admin_client.post(reverse("admin:oncall_schedule_add"), form)

    assert response.status_code == 302, response.content.decode()[:3000]
    layer = ScheduleLayer.objects.get(schedule__name="SRE primary")
    order = list(layer.participants.order_by("position").values_list("user__username", flat=True))
    assert order == ["cat", "ann", "ben"]


def test_changing_the_order_replaces_the_participants(admin_client, team):
    layer = ScheduleLayerFactory(people=team, schedule=ScheduleFactory(name="DB"))
    url = reverse("admin:oncall_schedule_change", args=[layer.schedule.pk])
    page = admin_client.get(url)
    assert "ann\nben\ncat</textarea>" in page.content.decode()

    form = schedule_form(
        {
            **layer_fields(0, people="ben\nann"),
            "layers-0-id": str(layer.pk),
            "layers-0-schedule": str(layer.schedule.pk),
        },
        name="DB",
    )
    form["layers-INITIAL_FORMS"] = "1"
    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert [p.user.username for p in layer.participants.order_by("position")] == ["ben", "ann"]
    assert LayerParticipant.objects.count() == 2


@pytest.mark.parametrize(
    ("people", "message"),
    [
        ("ann\nzed\nyan", "Nobody has the username “zed”, “yan”"),
        ("", "A layer needs at least one participant"),
        ("ann\nann\nben", "Ann is listed twice in a row (places 1 and 2)"),
    ],
)
def test_a_turn_order_that_makes_no_sense_is_refused(admin_client, team, people, message):
    form = schedule_form(layer_fields(0, people=people))

    response = admin_client.post(reverse("admin:oncall_schedule_add"), form)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Schedule.objects.exists()


def test_a_person_may_come_back_later_in_the_order(admin_client, team):
    form = schedule_form(layer_fields(0, people="ann\nben\nann\ncat"))

    assert admin_client.post(reverse("admin:oncall_schedule_add"), form).status_code == 302
    assert LayerParticipant.objects.count() == 4


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"end_date": "2026-01-01"}, "The layer would end before its first turn"),
        (
            {"restrictions-rows": "1", "restrictions-start": "09:00", "restrictions-end": "18:00"},
            "leaves no time",
        ),
    ],
)
def test_a_layer_that_makes_no_sense_is_refused(admin_client, team, values, message):
    form = schedule_form(layer_fields(0, people="ann", **values))

    response = admin_client.post(reverse("admin:oncall_schedule_add"), form)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Schedule.objects.exists()


def test_restrictions_are_rows_of_days_and_times(admin_client, team):
    windows = {
        "restrictions-rows": "1",
        "restrictions-days": ["0-4", "5 6"],
        "restrictions-start": ["09:00", "10:00"],
        "restrictions-end": ["18:00", "16:00"],
    }
    form = schedule_form(layer_fields(0, people="ann", **windows))

    assert admin_client.post(reverse("admin:oncall_schedule_add"), form).status_code == 302

    schedule = Schedule.objects.get()
    assert schedule.layers.get().restrictions == [
        {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"},
        {"days": [5, 6], "start": "10:00", "end": "16:00"},
    ]
    page = admin_client.get(reverse("admin:oncall_schedule_change", args=[schedule.pk]))
    assert page.context["inline_admin_formsets"][0].formset.forms[0]["restrictions"].value() == [
        {"days": "0-4", "start": "09:00", "end": "18:00"},
        {"days": "5-6", "start": "10:00", "end": "16:00"},
    ]
    bad = {**windows, "restrictions-days": ["Monday", "5 6"]}
    response = admin_client.post(
        reverse("admin:oncall_schedule_add"), schedule_form(layer_fields(0, people="ann", **bad))
    )
    assert "Write days as numbers from 0 to 6, or ranges (0-4)." in response.content.decode()


def override(user, start: str, end: str, note: str = "") -> dict[str, str]:
    return {
        "user": str(user.pk),
        "start_0": start[:10],
        "start_1": start[11:],
        "end_0": end[:10],
        "end_1": end[11:],
        "note": note,
    }


def test_overrides_are_entered_in_the_schedules_zone_and_may_not_overlap(admin_client, team):
    _, ben, cat = team
    form = schedule_form(
        layer_fields(0, people="ann"),
        overrides=(
            override(ben, "2026-01-06 09:00", "2026-01-07 09:00", "dentist"),
            override(cat, "2026-01-06 20:00", "2026-01-08 09:00"),
        ),
    )

    response = admin_client.post(reverse("admin:oncall_schedule_add"), form)

    assert response.status_code == 200
    assert "It overlaps Ben&#x27;s override from 2026-01-06 09:00 to 2026-01-07 09:00" in (
        response.content.decode()
    )
    assert not Schedule.objects.exists()

    form["overrides-1-start_0"], form["overrides-1-start_1"] = "2026-01-07", "09:00"
    assert admin_client.post(reverse("admin:oncall_schedule_add"), form).status_code == 302
    first = ScheduleOverride.objects.get(user=ben)
    # 09:00 in Shanghai is 01:00 UTC.
    assert first.start == datetime(2026, 1, 6, 1, tzinfo=UTC)
    assert first.created_by.username == "admin"


def test_an_override_overlapping_a_stored_one_is_refused_with_the_models_reason(admin_client, team):
    ann, ben, cat = team
    layer = ScheduleLayerFactory(people=[ann], schedule=ScheduleFactory(name="DB"))
    schedule = layer.schedule
    ScheduleOverride.objects.create(
        schedule=schedule,
        user=ben,
        start=datetime(2026, 1, 6, 1, tzinfo=UTC),
        end=datetime(2026, 1, 7, 1, tzinfo=UTC),
    )
    url = reverse("admin:oncall_schedule_change", args=[schedule.pk])
    # The stored override is not in the form (as if another admin added it meanwhile).
    form = schedule_form(
        {
            **layer_fields(0, people="ann"),
            "layers-0-id": str(layer.pk),
            "layers-0-schedule": str(schedule.pk),
        },
        overrides=(override(cat, "2026-01-06 12:00", "2026-01-06 18:00"),),
        name="DB",
    )
    form["layers-INITIAL_FORMS"] = "1"

    response = admin_client.post(url, form)

    assert response.status_code == 200
    assert "It overlaps Ben&#x27;s override from 2026-01-06 09:00 to 2026-01-07 09:00" in (
        response.content.decode()
    )
    assert ScheduleOverride.objects.count() == 1


def test_the_change_page_previews_the_next_two_weeks_and_warns(admin_client, team):
    ann, ben, cat = team
    schedule = ScheduleFactory(name="Follow the sun")
    today = timezone.now().date()
    ScheduleLayerFactory(
        schedule=schedule,
        name="Days",
        people=[ann, ben],
        position=0,
        start_date=today - timedelta(days=30),
        rotation_unit="days",
    )
    ScheduleLayerFactory(schedule=schedule, name="Nobody yet", position=1)
    ScheduleLayerFactory(
        schedule=schedule,
        name="Old",
        people=[cat],
        position=2,
        start_date=today - timedelta(days=60),
        end_date=today - timedelta(days=10),
    )
    ScheduleLayerFactory(
        schedule=schedule,
        name="Later",
        people=[cat],
        position=3,
        start_date=today + timedelta(days=40),
    )
    ben.is_active = False
    ben.save()

    page = admin_client.get(reverse("admin:oncall_schedule_change", args=[schedule.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Layer “Nobody yet” has no participants" in html
    assert "Layer “Days”: Ben&#x27;s account is deactivated" in html
    assert "Layer “Old” ended on" in html
    assert "Layer “Later” has nobody on call in the next two weeks" in html
    assert "Nobody is on call at any time" not in html
    # The preview: the responders' drawing, read-only (no place for actions on shifts).
    assert html.count('class="sched-row sched-row-layer"') == 4
    assert 'data-row="final"' in html
    assert 'data-row="overrides"' in html
    assert "Times in Asia/Shanghai." in html
    assert "shift-actions" not in html
    assert "oncall/schedules.css" in html


def test_a_schedule_with_nobody_at_all_says_so_after_saving(admin_client, team):
    form = schedule_form(layer_fields(0, people="ann", start_date="2030-01-07"), name="Future")

    response = admin_client.post(reverse("admin:oncall_schedule_add"), form, follow=True)

    html = response.content.decode()
    assert "Nobody is on call at any time in the next two weeks." in html
    assert Schedule.objects.filter(name="Future").exists()


def test_the_list_names_who_is_on_call_in_a_few_queries(
    admin_client, team, django_assert_max_num_queries
):
    for n in range(5):
        ScheduleLayerFactory(
            schedule=ScheduleFactory(name=f"Rota {n}"),
            people=team[n % 3 :] + team[: n % 3],
            start_date=timezone.now().date() - timedelta(days=2),
            rotation_unit="weeks",
        )
    ScheduleFactory(name="Rota empty")

    with django_assert_max_num_queries(15):
        page = admin_client.get(reverse("admin:oncall_schedule_changelist"))

    html = page.content.decode()
    rows = {name: html.split(f">{name}<")[1].split("</tr>")[0] for name in ("Rota 0", "Rota 1")}
    assert "Ann" in rows["Rota 0"]
    assert "Ben" in rows["Rota 1"]
    assert "nobody" in html.split(">Rota empty<")[1].split("</tr>")[0]
    assert admin_client.get(reverse("admin:oncall_schedule_add")).status_code == 200


def test_the_admins_refusals_are_translated(admin_client, team):
    form = schedule_form(layer_fields(0, people="ann\nann"))

    response = admin_client.post(
        reverse("admin:oncall_schedule_add"), form, HTTP_ACCEPT_LANGUAGE="zh-CN"
    )

    assert "Ann 连续出现了两次" in response.content.decode()
