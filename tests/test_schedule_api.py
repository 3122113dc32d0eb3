"""Schedules in the REST API: a schedule with its layers and turn orders written in one
request, overrides that may not overlap, who is on call at a moment, the shifts of a period,
and the admin's model permissions for every change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from rest_framework.test import APIClient

from oncall.models import LayerParticipant, Schedule, ScheduleLayer, ScheduleOverride
from tests.factories import ScheduleFactory, ScheduleLayerFactory, UserFactory, staff_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def team():
    return [UserFactory(username=n, first_name=n.title()) for n in ("ann", "ben", "cat")]


@pytest.fixture
def admin_api(db):
    return client_for(UserFactory(username="root", is_staff=True, is_superuser=True))


@pytest.fixture
def primary(team):
    """Asia/Shanghai, weekly from Monday 2026-01-05 09:00: Ann, Ben, Cat."""
    return ScheduleLayerFactory(
        schedule=ScheduleFactory(name="SRE primary"),
        name="Weekly",
        people=team,
        handoff_time=time(9),
        rotation_unit="weeks",
        start_date=date(2026, 1, 5),
    ).schedule


def layer(people, **values):
    return {
        "name": "Weekly",
        "start_date": "2026-01-05",
        "handoff_time": "09:00",
        "rotation_every": 1,
        "rotation_unit": "weeks",
        "participants": [p.pk for p in people],
        **values,
    }


def test_a_schedule_is_created_with_layers_and_turn_orders_in_one_request(admin_api, team):
    ann, ben, cat = team
    body = {
        "name": "Databases",
        "time_zone": "Europe/Berlin",
        "layers": [
            layer([cat, ann, ben]),
            layer(
                [ben],
                name="Business hours",
                rotation_unit="days",
                restrictions=[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}],
            ),
        ],
    }

    response = admin_api.post(f"{API}/schedules/", body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert [entry["participants"] for entry in data["layers"]] == [
        [cat.pk, ann.pk, ben.pk],
        [ben.pk],
    ]
    assert [entry["position"] for entry in data["layers"]] == [0, 1]
    schedule = Schedule.objects.get(public_id=data["id"])
    weekly = schedule.layers.get(position=0)
    assert [p.user for p in weekly.participants.order_by("position")] == [cat, ann, ben]
    assert data["warnings"] == []


def test_layers_are_replaced_as_a_whole_keeping_the_first_ids(admin_api, primary, team):
    ann, ben, cat = team
    first = primary.layers.get()
    url = f"{API}/schedules/{primary.public_id}/"

    response = admin_api.patch(
        url, {"layers": [layer([ben, ann]), layer([cat], name="Nights")]}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["layers"][0]["id"] == first.pk
    assert [p.user for p in first.participants.order_by("position")] == [ben, ann]
    assert ScheduleLayer.objects.filter(schedule=primary).count() == 2

    response = admin_api.patch(url, {"layers": [layer([cat])]}, format="json")
    assert response.status_code == 200
    assert list(ScheduleLayer.objects.filter(schedule=primary)) == [first]
    assert LayerParticipant.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"participants": []}, "participants", "A layer needs at least one participant"),
        ({"participants": "twice"}, "participants", "Ann is listed twice in a row"),
        ({"participants": [999]}, "participants", "Invalid pk"),
        ({"end_date": "2026-01-01"}, "end_date", "would end before its first turn"),
        (
            {"restrictions": [{"days": [], "start": "09:00", "end": "18:00"}]},
            "restrictions",
            "leaves no time",
        ),
        ({"restrictions": [{"days": [7], "start": "09:00", "end": "18:00"}]}, "restrictions", ""),
        ({"rotation_every": 0}, "rotation_every", ""),
    ],
)
def test_a_layer_that_makes_no_sense_is_refused_and_nothing_is_written(
    admin_api, team, change, field, message
):
    ann = team[0]
    if change.get("participants") == "twice":
        change = {"participants": [ann.pk, ann.pk]}
    body = {"name": "Broken", "time_zone": "Asia/Shanghai", "layers": [layer([ann], **change)]}

    response = admin_api.post(f"{API}/schedules/", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    errors = error["fields"]["layers"]["0"][field]
    assert message in str(errors)
    assert not Schedule.objects.exists()


def test_an_unknown_time_zone_is_refused(admin_api, team):
    body = {"name": "X", "time_zone": "Mars/Olympus", "layers": []}
    response = admin_api.post(f"{API}/schedules/", body, format="json")
    assert response.status_code == 400
    assert "not a known time zone" in response.json()["error"]["fields"]["time_zone"][0]


def test_everyone_signed_in_reads_schedules_but_only_the_permission_writes(primary, team):
    reader = client_for(team[0])
    assert reader.get(f"{API}/schedules/").json()["results"][0]["name"] == "SRE primary"
    body = {"name": "Mine", "time_zone": "UTC", "layers": [layer(team)]}

    refused = reader.post(f"{API}/schedules/", body, format="json")
    assert refused.status_code == 403
    assert "oncall.add_schedule" in refused.json()["error"]["message"]
    staff = client_for(staff_user("stan", "oncall.view_schedule"))
    assert staff.patch(f"{API}/schedules/{primary.public_id}/", {"name": "x"}).status_code == 403
    assert reader.delete(f"{API}/schedules/{primary.public_id}/").status_code == 403

    allowed = client_for(staff_user("sue", "oncall.add_schedule"))
    assert allowed.post(f"{API}/schedules/", body, format="json").status_code == 201
    assert APIClient().get(f"{API}/schedules/").status_code == 401


def test_on_call_names_the_person_their_shift_and_the_layer(primary, team):
    reader = client_for(team[0])
    url = f"{API}/schedules/{primary.public_id}/on-call/"

    # "+" left unencoded in the query string arrives as a space: still read as the offset.
    answer = reader.get(url + "?at=2026-01-12T20:00:00+08:00").json()

    assert answer["at"] == "2026-01-12T20:00:00+08:00"
    assert answer["time_zone"] == "Asia/Shanghai"
    on_call = answer["on_call"]
    assert on_call["user"] == {"id": team[1].pk, "username": "ben", "name": "Ben"}
    assert (on_call["start"], on_call["end"]) == (
        "2026-01-12T09:00:00+08:00",
        "2026-01-19T09:00:00+08:00",
    )
    assert on_call["layer"]["name"] == "Weekly"
    assert on_call["override"] is None
    assert on_call["is_next"] is False
    # Without an offset: in the schedule's zone.
    local = reader.get(url, {"at": "2026-01-12T08:59"}).json()["on_call"]
    assert local["user"]["username"] == "ann"


def test_on_call_tells_an_override_the_next_person_and_nobody(primary, team):
    ann, _, cat = team
    override = ScheduleOverride.objects.create(
        schedule=primary,
        user=cat,
        start=datetime(2026, 1, 6, 1, tzinfo=UTC),
        end=datetime(2026, 1, 7, 1, tzinfo=UTC),
        note="swap",
    )
    reader = client_for(ann)
    url = f"{API}/schedules/{primary.public_id}/on-call/"

    found = reader.get(url, {"at": "2026-01-06T12:00:00+08:00"}).json()["on_call"]
    assert (found["user"]["username"], found["override"]) == (
        "cat",
        {"id": override.pk, "note": "swap"},
    )
    assert found["layer"] is None

    before = reader.get(url, {"at": "2026-01-04T12:00:00+08:00"}).json()["on_call"]
    assert (before["user"]["username"], before["is_next"]) == ("ann", True)
    assert before["start"] == "2026-01-05T09:00:00+08:00"

    empty = ScheduleFactory(name="Empty")
    nobody = reader.get(f"{API}/schedules/{empty.public_id}/on-call/")
    assert nobody.status_code == 200
    assert nobody.json()["on_call"] is None


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"at": "tomorrow"}, "at", "at must be an ISO 8601 time"),
        ({"at": "9999-12-31T23:59:59+14:00"}, "at", "between the years"),
    ],
)
def test_a_bad_moment_is_a_400_with_the_reason(primary, team, query, field, message):
    response = client_for(team[0]).get(f"{API}/schedules/{primary.public_id}/on-call/", query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error["message"]
    assert field in error["fields"]


def test_shifts_of_a_period_are_the_final_ones_in_the_schedules_zone(primary, team):
    ann, _, cat = team
    ScheduleOverride.objects.create(
        schedule=primary,
        user=cat,
        start=datetime(2026, 1, 6, 1, tzinfo=UTC),
        end=datetime(2026, 1, 7, 1, tzinfo=UTC),
    )
    url = f"{API}/schedules/{primary.public_id}/shifts/"
    query = {"since": "2026-01-05T00:00:00+08:00", "until": "2026-01-19T00:00:00+08:00"}

    answer = client_for(ann).get(url, query).json()

    shifts = [(s["user"]["username"], s["start"], s["end"]) for s in answer["shifts"]]
    assert shifts == [
        ("ann", "2026-01-05T09:00:00+08:00", "2026-01-06T09:00:00+08:00"),
        ("cat", "2026-01-06T09:00:00+08:00", "2026-01-07T09:00:00+08:00"),
        ("ann", "2026-01-07T09:00:00+08:00", "2026-01-12T09:00:00+08:00"),
        ("ben", "2026-01-12T09:00:00+08:00", "2026-01-19T00:00:00+08:00"),
    ]
    assert answer["shifts"][1]["override"] is not None

    # One layer's own shifts: the override is not in them.
    weekly = primary.layers.get()
    layer_answer = client_for(ann).get(url, {**query, "layer": weekly.pk}).json()
    assert [s["user"]["username"] for s in layer_answer["shifts"]] == ["ann", "ben"]
    assert layer_answer["layer"] == weekly.pk


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "2026-01-10T00:00:00Z", "until": "2026-01-09T00:00:00Z"}, "after since"),
        ({"since": "2026-01-01T00:00:00Z", "until": "2026-04-03T00:00:01Z"}, "at most 92 days"),
        ({"since": "soon"}, "since must be an ISO 8601 time"),
        ({"layer": "12345"}, "no layer with that id"),
    ],
)
def test_a_bad_range_is_a_400_with_the_reason(primary, team, query, message):
    response = client_for(team[0]).get(f"{API}/schedules/{primary.public_id}/shifts/", query)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_overrides_are_created_and_overlaps_refused_with_the_reason(admin_api, primary, team):
    _, ben, cat = team
    body = {
        "schedule": str(primary.public_id),
        "user": ben.pk,
        "start": "2026-01-06T09:00:00+08:00",
        "end": "2026-01-07T09:00:00+08:00",
        "note": "dentist",
    }
    created = admin_api.post(f"{API}/schedule-overrides/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["created_by"] is not None

    clash = {**body, "user": cat.pk, "start": "2026-01-07T08:00:00+08:00", "end": "2026-01-08"}
    refused = admin_api.post(f"{API}/schedule-overrides/", clash, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["non_field_errors"] == [
        "It overlaps Ben's override from 2026-01-06 09:00 to 2026-01-07 09:00: shorten or "
        "delete that one first."
    ]
    backwards = {**body, "start": "2026-02-07T09:00:00+08:00", "end": "2026-02-06T09:00:00+08:00"}
    refused = admin_api.post(f"{API}/schedule-overrides/", backwards, format="json")
    assert refused.status_code == 400
    assert "must end after it starts" in refused.json()["error"]["fields"]["end"][0]

    # Moving it is checked too, against the others but not against itself.
    mine = created.json()["id"]
    moved = admin_api.patch(
        f"{API}/schedule-overrides/{mine}/", {"end": "2026-01-07T12:00:00+08:00"}, format="json"
    )
    assert moved.status_code == 200
    assert ScheduleOverride.objects.count() == 1

    listed = admin_api.get(f"{API}/schedule-overrides/", {"schedule": str(primary.public_id)})
    assert [o["note"] for o in listed.json()["results"]] == ["dentist"]


def test_overrides_need_the_permission_to_be_written(primary, team):
    reader = client_for(team[0])
    body = {
        "schedule": str(primary.public_id),
        "user": team[1].pk,
        "start": "2026-01-06T09:00:00+08:00",
        "end": "2026-01-07T09:00:00+08:00",
    }
    refused = reader.post(f"{API}/schedule-overrides/", body, format="json")
    assert refused.status_code == 403
    assert "oncall.add_scheduleoverride" in refused.json()["error"]["message"]
    assert reader.get(f"{API}/schedule-overrides/").status_code == 200


def test_the_schema_documents_schedules(admin_api):
    schema = admin_api.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "/api/v1/schedules/{public_id}/on-call/" in paths
    assert "/api/v1/schedules/{public_id}/shifts/" in paths
    assert "/api/v1/schedule-overrides/" in paths
    parameters = {
        p["name"] for p in paths["/api/v1/schedules/{public_id}/shifts/"]["get"]["parameters"]
    }
    assert {"since", "until", "layer"} <= parameters


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_overrides_sent_at_once_have_one_winner(team):
    from django.db import connection

    from tests.concurrency import race

    assert connection.vendor == "postgresql"
    schedule = ScheduleFactory(name="Raced")
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    for round_ in range(5):
        day = f"2026-02-{10 + round_:02d}"

        def create(person, day=day):
            body = {
                "schedule": str(schedule.public_id),
                "user": person.pk,
                "start": f"{day}T09:00:00+08:00",
                "end": f"{day}T18:00:00+08:00",
            }
            return client_for(admin).post(f"{API}/schedule-overrides/", body, format="json")

        answers = race(lambda: create(team[0]), lambda: create(team[1]))

        assert sorted(answer.status_code for answer in answers) == [201, 400]
    assert ScheduleOverride.objects.filter(schedule=schedule).count() == 5
