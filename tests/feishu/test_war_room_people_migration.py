"""Migration ``integrations.0012_war_room_invited_people_and_pins``: a war room's JSON list of
invited user ids becomes its ``invited_people`` (ids of users deleted since are dropped), and
going back rebuilds the list. Migrates the real test database back and forth, like
``test_sent_cards_migration`` (whose helpers it uses), and leaves it at the latest migrations."""

from __future__ import annotations

import pytest

from tests.feishu.test_sent_cards_migration import latest, migrator  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("integrations", "0011_api_usage_warns_by_count")
AFTER = ("integrations", "0012_war_room_invited_people_and_pins")


def a_room(apps, invited: list[int]):
    app = apps.get_model("integrations", "FeishuApp").objects.create(
        name="Ops", app_id="cli_migration", app_secret="s", verification_token="t"
    )
    channel = apps.get_model("oncall", "Channel").objects.create(name="Databases")
    incident = apps.get_model("oncall", "Incident").objects.create(
        number=1, channel=channel, title="Replication lag", severity="critical", group_key="k"
    )
    return apps.get_model("integrations", "WarRoom").objects.create(
        incident=incident, app=app, state="open", invited_user_ids=invited
    )


def users(apps, *names: str) -> list[int]:
    User = apps.get_model("auth", "User")
    return [User.objects.create(username=name).pk for name in names]


def test_it_turns_the_list_into_people_and_back(migrator):  # noqa: F811
    old = migrator([BEFORE])
    alice, bob = users(old, "alice", "bob")
    room = a_room(old, [alice, 987654, bob, alice])

    new = migrator([AFTER])

    invited = new.get_model("integrations", "WarRoom").objects.get(pk=room.pk).invited_people
    assert sorted(invited.values_list("username", flat=True)) == ["alice", "bob"]

    back = migrator([BEFORE])

    rebuilt = back.get_model("integrations", "WarRoom").objects.get(pk=room.pk).invited_user_ids
    assert sorted(rebuilt) == sorted([alice, bob])
