"""The API applies the admin's model permissions: a staff account reads and changes through the
API exactly what its permissions let it read and change in the admin, and no more. And who sees
whose e-mail address in the list of people."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from oncall.models import AlertSource, Channel, EscalationRule
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    EscalationRuleFactory,
    FeishuAppFactory,
    IncidentFactory,
    UserFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def staff_with(*permissions: str, username: str = "stan"):
    user = staff_user(username, *permissions)
    return client_for(user), user


@pytest.fixture
def world():
    """Two channels Stan is not a member of, a private source with its push URL, a rule and a
    Feishu app."""
    databases, web = ChannelFactory(name="Databases"), ChannelFactory(name="Web")
    return {
        "databases": databases,
        "web": web,
        "source": AlertSourceFactory(channel=databases, name="Prometheus"),
        "rule": EscalationRuleFactory(channel=databases, name="Nights"),
        "app": FeishuAppFactory(name="Ops bot"),
    }


def url(kind: str, obj=None, suffix: str = "") -> str:
    base = f"/api/v1/{kind}/"
    return base if obj is None else f"{base}{obj.public_id}/{suffix}"


class TestStaffWithoutPermissions:
    def test_it_lists_no_channel_and_cannot_join_one(self, world):
        stan, user = staff_with()
        assert stan.get(url("channels")).json()["results"] == []
        assert stan.get(url("channels", world["web"])).status_code == 404
        response = stan.patch(url("channels", world["web"]), {"members": [user.pk]}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["message"] == (
            "Only staff with the permission oncall.change_channel may do this."
        )
        assert not world["web"].members.exists()
        assert stan.post(url("channels"), {"name": "Mine"}, format="json").status_code == 403

    def test_it_reads_no_push_url(self, world):
        stan, _ = staff_with()
        response = stan.get(url("alert-sources"))
        assert response.status_code == 403
        assert world["source"].token not in response.content.decode()
        assert response.json()["error"]["message"] == (
            "Only staff with the permission oncall.view_alertsource or oncall.change_alertsource "
            "may see this."
        )
        assert stan.get(url("alert-sources", world["source"])).status_code == 403
        assert stan.get(url("routes")).status_code == 403
        rotate = stan.post(url("alert-sources", world["source"], "rotate-token/"))
        assert rotate.status_code == 403

    def test_it_lists_no_escalation_rule_and_changes_none(self, world):
        stan, _ = staff_with()
        assert stan.get(url("escalation-rules")).json()["results"] == []
        response = stan.patch(url("escalation-rules", world["rule"]), {"name": "x"}, format="json")
        assert response.status_code == 403

    def test_it_neither_reads_nor_edits_feishu_apps(self, world):
        stan, _ = staff_with()
        assert stan.get(url("feishu-apps")).status_code == 403
        response = stan.patch(url("feishu-apps", world["app"]), {"name": "x"}, format="json")
        assert response.status_code == 403
        assert stan.get("/api/v1/feishu-chats/").status_code == 403
        assert stan.get("/api/v1/feishu-linked-accounts/").status_code == 403
        world["app"].refresh_from_db()
        assert world["app"].name == "Ops bot"

    def test_it_still_reads_and_acts_on_its_own_channels_as_a_member(self, world):
        stan, user = staff_with()
        world["web"].members.add(user)
        incident = IncidentFactory(channel=world["web"])
        assert [c["name"] for c in stan.get(url("channels")).json()["results"]] == ["Web"]
        assert stan.post(url("incidents", incident, "claim/")).status_code == 200


class TestStaffWithViewPermissions:
    def test_it_reads_every_channel_but_changes_none(self, world):
        stan, user = staff_with("oncall.view_channel")
        names = {c["name"] for c in stan.get(url("channels")).json()["results"]}
        assert names == {"Databases", "Web"}
        response = stan.patch(url("channels", world["web"]), {"members": [user.pk]}, format="json")
        assert response.status_code == 403
        assert stan.delete(url("channels", world["web"])).status_code == 403
        assert not world["web"].members.exists()

    def test_it_reads_push_urls_but_cannot_rotate_or_change_them(self, world):
        stan, _ = staff_with("oncall.view_alertsource")
        listed = stan.get(url("alert-sources")).json()["results"]
        assert [s["push_url"] for s in listed] == [world["source"].push_url]
        assert stan.post(url("alert-sources", world["source"], "rotate-token/")).status_code == 403
        response = stan.patch(url("alert-sources", world["source"]), {"enabled": False})
        assert response.status_code == 403
        assert AlertSource.objects.get(pk=world["source"].pk).enabled is True

    def test_it_reads_every_escalation_rule_but_changes_none(self, world):
        stan, _ = staff_with("oncall.view_escalationrule")
        names = {r["name"] for r in stan.get(url("escalation-rules")).json()["results"]}
        assert "Nights" in names
        response = stan.patch(url("escalation-rules", world["rule"]), {"name": "x"}, format="json")
        assert response.status_code == 403
        assert EscalationRule.objects.get(pk=world["rule"].pk).name == "Nights"

    def test_it_reads_feishu_apps_but_cannot_edit_or_check_them(self, world):
        stan, _ = staff_with("integrations.view_feishuapp")
        names = [a["name"] for a in stan.get(url("feishu-apps")).json()["results"]]
        assert names == ["Ops bot"]
        response = stan.patch(url("feishu-apps", world["app"]), {"name": "x"}, format="json")
        assert response.status_code == 403
        assert stan.post(url("feishu-apps", world["app"], "check/")).status_code == 403


class TestStaffWithChangePermissions:
    def test_it_adds_itself_to_a_channel(self, world):
        stan, user = staff_with("oncall.change_channel")
        response = stan.patch(url("channels", world["web"]), {"members": [user.pk]}, format="json")
        assert response.status_code == 200, response.json()
        assert list(world["web"].members.all()) == [user]
        # Creating and deleting are permissions of their own, as in the admin.
        assert stan.post(url("channels"), {"name": "Mine"}, format="json").status_code == 403
        assert stan.delete(url("channels", world["web"])).status_code == 403

    def test_it_creates_channels_with_the_add_permission(self, world):
        stan, _ = staff_with("oncall.add_channel")
        assert stan.post(url("channels"), {"name": "Mine"}, format="json").status_code == 201
        assert Channel.objects.filter(name="Mine").exists()

    def test_it_changes_alert_sources_and_rotates_their_tokens(self, world):
        stan, _ = staff_with("oncall.change_alertsource")
        old = world["source"].push_url
        rotated = stan.post(url("alert-sources", world["source"], "rotate-token/"))
        assert rotated.status_code == 200
        assert rotated.json()["push_url"] != old
        response = stan.patch(url("alert-sources", world["source"]), {"enabled": False})
        assert response.status_code == 200
        assert AlertSource.objects.get(pk=world["source"].pk).enabled is False

    def test_it_changes_escalation_rules(self, world):
        stan, _ = staff_with("oncall.change_escalationrule")
        response = stan.patch(
            url("escalation-rules", world["rule"]), {"name": "Weekends"}, format="json"
        )
        assert response.status_code == 200, response.json()
        assert EscalationRule.objects.get(pk=world["rule"].pk).name == "Weekends"

    def test_it_edits_feishu_apps(self, world):
        stan, _ = staff_with("integrations.change_feishuapp")
        response = stan.patch(url("feishu-apps", world["app"]), {"name": "Lark bot"}, format="json")
        assert response.status_code == 200, response.json()
        world["app"].refresh_from_db()
        assert world["app"].name == "Lark bot"


def test_permissions_count_only_for_staff_as_in_the_admin(world):
    """A permission granted to an account that may not enter the admin changes nothing."""
    user = UserFactory(username="nina")
    user.user_permissions.add(Permission.objects.get(codename="view_alertsource"))
    team = Group.objects.create(name="editors")
    team.permissions.add(Permission.objects.get(codename="change_channel"))
    user.groups.add(team)
    nina = client_for(user)
    assert nina.get(url("alert-sources")).status_code == 403
    response = nina.patch(url("channels", world["web"]), {"members": [user.pk]}, format="json")
    assert response.status_code == 403


def test_superusers_keep_everything(world):
    root = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert root.get(url("alert-sources")).json()["results"][0]["push_url"]
    response = root.patch(url("feishu-apps", world["app"]), {"name": "Renamed"}, format="json")
    assert response.status_code == 200


class TestEmailAddresses:
    @pytest.fixture
    def people(self):
        databases, web = ChannelFactory(name="Databases"), ChannelFactory(name="Web")
        dana, dave, walt = (UserFactory(username=n) for n in ("dana", "dave", "walt"))
        tina = UserFactory(username="tina")
        databases.members.add(dana, dave)
        team = Group.objects.create(name="dba")
        team.user_set.add(tina)
        databases.teams.add(team)
        web.members.add(walt)
        return {u.username: u for u in (dana, dave, walt, tina)}

    @staticmethod
    def emails(client: APIClient) -> dict[str, str | None]:
        users = client.get("/api/v1/users/?page_size=100").json()["results"]
        return {u["username"]: u["email"] for u in users}

    def test_an_outsider_sees_only_its_own(self, people):
        mallory = UserFactory(username="mallory")
        seen = self.emails(client_for(mallory))
        assert seen["mallory"] == "mallory@example.com"
        assert {seen[n] for n in ("dana", "dave", "walt", "tina")} == {None}

    def test_an_outsider_cannot_find_an_address_by_filtering(self, people):
        mallory = client_for(UserFactory(username="mallory"))
        found = mallory.get("/api/v1/users/?email=dana@example.com").json()["results"]
        assert found == []

    def test_a_member_sees_those_of_the_people_it_shares_a_channel_with(self, people):
        seen = self.emails(client_for(people["dana"]))
        assert seen["dave"] == "dave@example.com"
        assert seen["tina"] == "tina@example.com"  # a member through a team
        assert seen["walt"] is None
        found = client_for(people["dana"]).get("/api/v1/users/?email=dave@example.com")
        assert [u["username"] for u in found.json()["results"]] == ["dave"]

    def test_staff_need_the_view_permission_on_users(self, people):
        stan, _ = staff_with()
        assert self.emails(stan)["walt"] is None
        viewer, _ = staff_with("auth.view_user", username="vera")
        assert self.emails(viewer)["walt"] == "walt@example.com"


def test_the_refusal_is_translated(world):
    stan, _ = staff_with()
    response = stan.get(url("alert-sources"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "只有拥有 oncall.view_alertsource" in response.json()["error"]["message"]
