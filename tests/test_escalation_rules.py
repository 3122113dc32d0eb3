"""Escalation rules and levels: matching, the default rule, recipients, the admin and the API."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.feishu.escalation_targets import chosen_app
from oncall.escalation_rules import rule_for
from oncall.matchers import subject_of
from oncall.models import Alert, Channel, EscalationLevel, EscalationRule
from oncall.models.escalation import add_missing_default_rules
from tests.escalation_rule_requests import MEMBERS, payload, rule_form
from tests.factories import (
    ChannelFactory,
    EscalationLevelFactory,
    EscalationRuleFactory,
    FeishuAppFactory,
    FeishuChatFactory,
    IncidentFactory,
    UserFactory,
    api_as,
)

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # 2026-11-23 is a Monday
FRIDAY = datetime(2026, 11, 27, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, tzinfo=UTC)
PROD = subject_of(
    title="Disk full", description="", severity="critical", alert_key="k", labels={"env": "prod"}
)


def at(day: datetime, hh: int, mm: int = 0) -> datetime:
    return day.replace(hour=hh, minute=mm)


def rule(**fields) -> EscalationRule:
    """An unsaved rule: matching needs no database."""
    fields.setdefault("timezone", "UTC")
    return EscalationRule(name="r", **fields)


def incident_with_alert(channel: Channel, *, severity: str = "critical", **labels: str):
    incident = IncidentFactory(channel=channel, severity=severity)
    now = datetime.now(UTC)
    Alert.objects.create(
        channel=channel,
        incident=incident,
        alert_key="fp-1",
        title=incident.title,
        severity=severity,
        labels=labels,
        first_seen=now,
        last_seen=now,
    )
    return incident


# --- Conditions -------------------------------------------------------------------------------


class TestMatching:
    def test_it_matches_any_incident_at_any_time_without_conditions(self):
        assert rule().matches("info", {}, at(MONDAY, 3))

    def test_it_matches_only_the_listed_severities(self):
        critical_only = rule(severities=["critical"])
        assert critical_only.matches("critical", PROD, at(MONDAY, 3))
        assert not critical_only.matches("warning", PROD, at(MONDAY, 3))

    def test_it_matches_labels_with_the_route_matchers(self):
        prod = rule(matchers=[{"key": "labels.env", "op": "eq", "value": "prod"}])
        staging = {**PROD, "labels.env": "staging"}
        assert prod.matches("critical", PROD, at(MONDAY, 3))
        assert not prod.matches("critical", staging, at(MONDAY, 3))

        regex = rule(matchers=[{"key": "labels.env", "op": "re", "value": "prod|staging"}])
        assert regex.matches("critical", staging, at(MONDAY, 3))
        assert not regex.matches("critical", {}, at(MONDAY, 3))

    def test_it_matches_office_hours_in_its_time_zone(self):
        office = rule(
            days=[0, 1, 2, 3, 4],
            start_time=time(9),
            end_time=time(18),
            timezone="Asia/Shanghai",  # UTC+8
        )
        assert office.matches("critical", PROD, at(MONDAY, 1))  # 09:00 in Shanghai
        assert office.matches("critical", PROD, at(MONDAY, 9, 59))  # 17:59
        assert not office.matches("critical", PROD, at(MONDAY, 10))  # 18:00: the end is excluded
        assert not office.matches("critical", PROD, at(MONDAY, 0, 59))  # 08:59
        assert not office.matches("critical", PROD, at(SATURDAY, 3))  # Saturday 11:00

    def test_it_reads_the_day_in_its_time_zone_not_in_utc(self):
        mondays_in_shanghai = rule(days=[0], timezone="Asia/Shanghai")
        sunday_evening_utc = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # Monday 01:00 there
        assert mondays_in_shanghai.matches("critical", PROD, sunday_evening_utc)
        assert not mondays_in_shanghai.matches("critical", PROD, at(MONDAY, 17))  # Tuesday

    def test_a_window_crossing_midnight_belongs_to_the_day_it_starts(self):
        friday_night = rule(
            days=[4], start_time=time(22), end_time=time(6), timezone="Europe/Berlin"
        )  # UTC+1 in November
        assert friday_night.matches("critical", PROD, at(FRIDAY, 22))  # Friday 23:00
        assert friday_night.matches("critical", PROD, at(SATURDAY, 4))  # Saturday 05:00
        assert not friday_night.matches("critical", PROD, at(SATURDAY, 5))  # Saturday 06:00
        assert not friday_night.matches("critical", PROD, at(FRIDAY, 3))  # Thursday's night
        assert not friday_night.matches("critical", PROD, at(SATURDAY, 22))  # Saturday's night
        assert not friday_night.matches("critical", PROD, at(FRIDAY, 12))  # Friday 13:00

    def test_every_night_crosses_the_day_boundary_without_days(self):
        nights = rule(start_time=time(22), end_time=time(6))
        assert nights.matches("critical", PROD, at(MONDAY, 23, 30))
        assert nights.matches("critical", PROD, at(MONDAY, 0, 0))
        assert not nights.matches("critical", PROD, at(MONDAY, 6))


class TestRuleFor:
    def test_it_skips_disabled_rules_and_the_first_match_by_position_wins(self, channel):
        channel.escalation_rules.all().delete()
        incident = incident_with_alert(channel, env="prod")
        prod = [{"key": "labels.env", "op": "eq", "value": "prod"}]
        EscalationRuleFactory(channel=channel, position=1, name="disabled", enabled=False)
        later = EscalationRuleFactory(channel=channel, position=3, name="later", matchers=prod)
        first = EscalationRuleFactory(channel=channel, position=2, name="first", matchers=prod)
        EscalationRuleFactory(channel=ChannelFactory(), position=0, name="other channel")

        assert rule_for(incident, at(MONDAY, 12)) == first
        first.enabled = False
        first.save()
        assert rule_for(incident, at(MONDAY, 12)) == later

    def test_it_returns_none_when_nothing_matches(self, channel):
        channel.escalation_rules.all().delete()
        EscalationRuleFactory(channel=channel, severities=["critical"])
        assert rule_for(incident_with_alert(channel, severity="info"), at(MONDAY, 12)) is None

    def test_it_matches_the_first_alerts_labels_and_the_incidents_severity(self, channel):
        channel.escalation_rules.all().delete()
        db_warnings = EscalationRuleFactory(
            channel=channel,
            severities=["warning"],
            matchers=[
                {"key": "labels.team", "op": "eq", "value": "db"},
                {"key": "severity", "op": "eq", "value": "warning"},
            ],
        )
        assert rule_for(incident_with_alert(channel, severity="warning", team="db")) == db_warnings
        assert rule_for(incident_with_alert(channel, severity="warning", team="web")) is None

    def test_a_new_channel_escalates_with_its_default_rule(self, channel):
        incident = incident_with_alert(channel, severity="info")
        assert rule_for(incident).name == "Default"


# --- Validation -------------------------------------------------------------------------------


class TestValidation:
    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"severities": ["urgent"]}, "severities", "Unknown severities urgent"),
            ({"severities": ["info", "info"]}, "severities", "Each severity may appear once"),
            ({"days": [7]}, "days", "0 = Monday"),
            ({"days": [True]}, "days", "0 = Monday"),
            ({"matchers": [{"key": "env", "op": "eq"}]}, "matchers", "labels.<name>"),
            ({"timezone": "Mars/Olympus"}, "timezone", "not a known time zone"),
            ({"start_time": time(9)}, "end_time", "both a start and an end"),
            ({"start_time": time(9), "end_time": time(9)}, "end_time", "ends when it starts"),
        ],
    )
    def test_it_refuses_bad_conditions_naming_the_field(self, channel, fields, field, message):
        bad = EscalationRule(channel=channel, name="bad", **fields)
        with pytest.raises(ValidationError) as caught:
            bad.full_clean()
        assert message in " ".join(caught.value.message_dict[field])

    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"escalate_after_minutes": 0}, "escalate_after_minutes", "greater than or equal"),
            ({"repeat_every_minutes": 0, "repeat_times": 1}, "repeat_every_minutes", "greater"),
            ({"repeat_times": 2}, "repeat_every_minutes", "how often"),
            ({"repeat_every_minutes": 10}, "repeat_times", "how many times"),
            ({"repeat_every_minutes": 10, "repeat_times": 3}, "repeat_times", "takes 30 min"),
        ],
    )
    def test_it_refuses_bad_timings_naming_the_field(self, channel, fields, field, message):
        level = EscalationLevel(rule=channel.escalation_rules.get(), **fields)
        with pytest.raises(ValidationError) as caught:
            level.full_clean()
        assert message in " ".join(caught.value.message_dict[field])

    def test_repeats_that_fit_in_the_level_are_valid(self, channel):
        level = EscalationLevel(
            rule=channel.escalation_rules.get(),
            escalate_after_minutes=30,
            repeat_every_minutes=10,
            repeat_times=2,
        )
        level.full_clean()
        assert level.describe().endswith("repeat every 10 min ×2")  # noqa: RUF001


# --- The default rule ---------------------------------------------------------------------------


class TestDefaultRule:
    def test_a_new_channel_gets_the_default_rule(self):
        channel = Channel.objects.create(name="Payments")
        default = channel.escalation_rules.get()
        level = default.levels.get()
        assert (default.name, default.position, default.enabled) == ("Default", 0, True)
        assert (default.severities, default.matchers, default.days) == ([], [], [])
        assert (default.start_time, default.end_time) == (None, None)
        assert level.notify_channel_members
        assert level.escalate_after_minutes == 30
        assert not level.users.exists()

    def test_saving_a_channel_again_adds_no_rule(self, channel):
        channel.description = "changed"
        channel.save()
        assert channel.escalation_rules.count() == 1

    def test_the_migration_gives_channels_without_rules_the_default_one(self):
        bare, configured = ChannelFactory(), ChannelFactory()
        bare.escalation_rules.all().delete()
        configured.escalation_rules.update(name="Ours")

        assert add_missing_default_rules() == 1
        assert bare.escalation_rules.get().levels.get().notify_channel_members
        assert list(configured.escalation_rules.values_list("name", flat=True)) == ["Ours"]
        assert add_missing_default_rules() == 0


# --- Targets ------------------------------------------------------------------------------------


class TestRecipients:
    def test_it_notifies_its_users_and_the_channels_members_and_teams_once(self, channel):
        alice, bob, carol, dave = (
            UserFactory(username=n) for n in ("alice", "bob", "carol", "dave")
        )
        retired = UserFactory(username="erin", is_active=False)
        sre = Group.objects.create(name="SRE")
        sre.user_set.add(bob, carol, retired)
        channel.members.add(alice, bob)
        channel.teams.add(sre)
        level = EscalationLevelFactory(
            rule=channel.escalation_rules.get(), users=[dave, alice, retired]
        )

        assert [u.username for u in level.recipients()] == ["alice", "dave"]
        level.notify_channel_members = True
        assert [u.username for u in level.recipients()] == ["alice", "bob", "carol", "dave"]

    def test_a_level_needs_a_target(self):
        with pytest.raises(ValidationError) as nobody:
            EscalationLevel.validate_targets(
                users=[], notify_channel_members=False, platform_targets=False
            )
        assert "at least one target" in nobody.value.messages[0]
        # A chat platform's target (a Feishu group chat) is a target.
        EscalationLevel.validate_targets(
            users=[], notify_channel_members=False, platform_targets=True
        )


# --- Admin --------------------------------------------------------------------------------------


class TestAdmin:
    def test_an_admin_creates_a_rule_with_two_levels(self, admin_client, channel):
        app = FeishuAppFactory()
        chat = FeishuChatFactory(app=app, name="SRE on-call")
        alice = UserFactory(username="alice", first_name="Alice")
        form = rule_form(
            channel,
            {"position": "0", "users": [alice.pk], "escalate_after_minutes": "15"},
            {
                "position": "1",
                "notify_channel_members": "on",
                "chats": [chat.pk],
                "escalate_after_minutes": "30",
                "repeat_every_minutes": "10",
                "repeat_times": "2",
            },
        )
        response = admin_client.post(reverse("admin:oncall_escalationrule_add"), form)

        assert response.status_code == 302, response.context["errors"]
        created = EscalationRule.objects.get(name="Databases, nights")
        assert (created.severities, created.days) == (["critical"], [0, 4])
        assert (created.start_time, created.end_time) == (time(22), time(6))
        first, second = created.levels.order_by("position")
        assert list(first.users.all()) == [alice]
        assert second.describe() == (
            # the last level: the rule starts again (once) after it, nothing to escalate to
            "Notify channel members and SRE on-call; repeat every 10 min ×2; "  # noqa: RUF001
            "start again after 30 min"
        )
        page = admin_client.get(reverse("admin:oncall_escalationrule_change", args=[created.pk]))
        assert "Notify Alice; escalate after 15 min" in page.content.decode()

    def test_a_level_without_targets_is_refused(self, admin_client, channel):
        form = rule_form(channel, {"position": "0", "escalate_after_minutes": "45"})
        response = admin_client.post(reverse("admin:oncall_escalationrule_add"), form)
        assert response.status_code == 200
        assert "Choose at least one target" in response.content.decode()
        assert not EscalationRule.objects.filter(name="Databases, nights").exists()

    def test_a_rule_without_levels_is_refused(self, admin_client, channel):
        response = admin_client.post(reverse("admin:oncall_escalationrule_add"), rule_form(channel))
        assert "A rule needs at least one level" in response.content.decode()
        assert not EscalationRule.objects.filter(name="Databases, nights").exists()

    def test_chats_of_another_app_than_the_rules_are_refused(self, admin_client, channel):
        ours, theirs = FeishuAppFactory(), FeishuAppFactory()
        chat = FeishuChatFactory(app=theirs, name="Their group")
        form = rule_form(
            channel,
            {"position": "0", "chats": [chat.pk], "escalate_after_minutes": "30"},
            feishu_app=ours.pk,
        )
        response = admin_client.post(reverse("admin:oncall_escalationrule_add"), form)
        assert "Their group belong to another Feishu app" in response.content.decode()
        assert not EscalationRule.objects.filter(name="Databases, nights").exists()

    def test_the_rule_page_warns_about_chats_that_receive_nothing(self, admin_client, channel):
        app = FeishuAppFactory()
        removed = FeishuChatFactory(app=app, name="Old war room", status="bot_removed")
        gone = FeishuChatFactory(app=app, name="Disbanded team", status="disbanded")
        fine = FeishuChatFactory(app=app, name="SRE on-call")
        broken = EscalationRuleFactory(channel=channel, feishu_app=app)
        EscalationLevelFactory(rule=broken, chats=[removed, fine])
        EscalationLevelFactory(rule=broken, chats=[gone])

        page = admin_client.get(reverse("admin:oncall_escalationrule_change", args=[broken.pk]))
        html = page.content.decode()
        assert "Level 1: chat Old war room (bot removed)." in html
        assert "Level 2: chat Disbanded team (disbanded)." in html
        assert "chat SRE on-call (" not in html

    def test_the_list_summarises_conditions_and_counts_levels(self, admin_client, channel):
        night = EscalationRuleFactory(
            channel=channel,
            name="Nights",
            severities=["critical"],
            days=[4],
            start_time=time(22),
            end_time=time(6),
            timezone="Europe/Berlin",
        )
        EscalationLevelFactory(rule=night, notify_channel_members=True)
        EscalationLevelFactory(rule=night, notify_channel_members=True)
        listing = admin_client.get(reverse("admin:oncall_escalationrule_changelist"))
        html = listing.content.decode()
        assert "critical · Fri 22:00-06:00 Europe/Berlin" in html
        assert "any incident, any time" in html  # the Default rule

    def test_the_channel_page_links_to_its_rules(self, admin_client, channel):
        default = channel.escalation_rules.get()
        page = admin_client.get(reverse("admin:oncall_channel_change", args=[channel.pk]))
        html = page.content.decode()
        assert reverse("admin:oncall_escalationrule_change", args=[default.pk]) in html
        assert ">Default</a>" in html


# --- API ----------------------------------------------------------------------------------------


def test_listing_rules_costs_the_same_queries_for_2_channels_and_12(staff):
    def queries_for_the_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff.get("/api/v1/escalation-rules/").status_code == 200
        return len(captured.captured_queries)

    for _ in range(2):
        ChannelFactory()  # each gets its default rule, which names no Feishu app
    queries_for_the_list()  # the token's first use is recorded once
    few = queries_for_the_list()
    for _ in range(10):
        ChannelFactory()
    assert queries_for_the_list() == few


class TestApi:
    def test_staff_create_a_rule_with_its_levels_in_one_request(self, staff, channel):
        app = FeishuAppFactory()
        chat = FeishuChatFactory(app=app, name="SRE on-call")
        alice = UserFactory(username="alice")
        body = payload(
            channel,
            {"users": [alice.pk], "escalate_after_minutes": 5},
            {"chats": [chat.pk], "repeat_every_minutes": 10, "repeat_times": 2},
            feishu_app=str(app.public_id),
            stop_when="closed",
        )
        response = staff.post("/api/v1/escalation-rules/", body, format="json")

        assert response.status_code == 201, response.json()
        data = response.json()
        created = EscalationRule.objects.get(public_id=data["id"])
        assert chosen_app(created) == app
        assert created.stop_when == EscalationRule.StopWhen.CLOSED
        assert [level["position"] for level in data["levels"]] == [0, 1]
        assert data["levels"][0]["users"] == [alice.pk]
        assert data["levels"][1]["chats"] == [chat.pk]
        assert data["levels"][1]["escalate_after_minutes"] == 30  # the default
        assert data["start_time"] == "09:00:00"
        # alice has no linked account in the app: her cards cannot reach her.
        assert [w.split(":")[:2] for w in data["warnings"]] == [
            ["Level 1", f" alice not linked to {app}"]
        ]

    def test_levels_are_replaced_as_a_whole(self, staff, channel):
        default = channel.escalation_rules.get()
        bob = UserFactory(username="bob")
        url = f"/api/v1/escalation-rules/{default.public_id}/"
        two = [{"users": [bob.pk]}, {"notify_channel_members": True, "escalate_after_minutes": 60}]

        response = staff.patch(url, {"levels": two}, format="json")
        assert response.status_code == 200, response.json()
        assert [(lv.position, lv.escalate_after_minutes) for lv in default.levels.all()] == [
            (0, 30),
            (1, 60),
        ]

        replaced = staff.put(url, payload(channel, {"users": [bob.pk]}), format="json")
        assert replaced.status_code == 200, replaced.json()
        assert [level["users"] for level in replaced.json()["levels"]] == [[bob.pk]]
        assert default.levels.count() == 1

        renamed = staff.patch(url, {"name": "Renamed"}, format="json")
        assert renamed.status_code == 200
        assert default.levels.count() == 1  # untouched without "levels"

    @pytest.mark.parametrize(
        ("change", "where", "message"),
        [
            (
                {"levels": [MEMBERS, {}]},
                ("levels", "1", "non_field_errors"),
                "at least one target",
            ),
            (
                {"levels": [{**MEMBERS, "escalate_after_minutes": 0}]},
                ("levels", "0", "escalate_after_minutes"),
                "greater than or equal to 1",
            ),
            (
                {"levels": [{**MEMBERS, "repeat_times": 3}]},
                ("levels", "0", "repeat_every_minutes"),
                "how often",
            ),
            ({"levels": []}, ("levels", "non_field_errors"), "may not be empty"),
            ({"matchers": [{"key": "labels.env", "op": "like"}]}, ("matchers",), "op must be"),
            ({"severities": ["urgent"]}, ("severities", "0"), "not a valid choice"),
            ({"days": [9]}, ("days", "0"), "less than or equal to 6"),
            ({"timezone": "Mars/Olympus"}, ("timezone",), "not a known time zone"),
            ({"end_time": None}, ("end_time",), "both a start and an end"),
        ],
    )
    def test_validation_errors_name_the_field(self, staff, channel, change, where, message):
        response = staff.post(
            "/api/v1/escalation-rules/", payload(channel, **change), format="json"
        )
        assert response.status_code == 400
        found = response.json()["error"]["fields"]
        for key in where:
            found = found[key]
        assert message in " ".join(found)
        assert not EscalationRule.objects.filter(name="Critical in prod").exists()

    def test_a_level_refuses_chats_of_another_app_than_the_rules(self, staff, channel):
        ours, theirs = FeishuAppFactory(), FeishuAppFactory()
        chat = FeishuChatFactory(app=theirs, name="Their group")
        body = payload(channel, {"chats": [chat.pk]}, feishu_app=str(ours.public_id))
        response = staff.post("/api/v1/escalation-rules/", body, format="json")
        assert response.status_code == 400
        errors = response.json()["error"]["fields"]["levels"]["0"]["chats"]
        assert "Their group belong to another Feishu app" in errors[0]

    def test_members_read_the_rules_of_their_channels_only(self, channel, responder):
        other = ChannelFactory()
        member = api_as(responder)
        ours, theirs = channel.escalation_rules.get(), other.escalation_rules.get()

        listing = member.get("/api/v1/escalation-rules/").json()
        assert [r["id"] for r in listing["results"]] == [str(ours.public_id)]
        assert member.get(f"/api/v1/escalation-rules/{ours.public_id}/").status_code == 200
        assert member.get(f"/api/v1/escalation-rules/{theirs.public_id}/").status_code == 404
        changed = member.patch(
            f"/api/v1/escalation-rules/{ours.public_id}/", {"name": "Mine"}, format="json"
        )
        assert changed.status_code == 403
        created = member.post("/api/v1/escalation-rules/", payload(channel), format="json")
        assert created.status_code == 403

    def test_rules_filter_by_channel_in_position_order(self, staff, channel):
        EscalationRuleFactory(channel=channel, position=5, name="Later")
        EscalationRuleFactory(channel=ChannelFactory(), position=1, name="Elsewhere")
        listing = staff.get("/api/v1/escalation-rules/", {"channel": str(channel.public_id)})
        assert [r["name"] for r in listing.json()["results"]] == ["Default", "Later"]

    def test_the_schema_stays_valid(self):
        out = io.StringIO()
        call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
        assert "/api/v1/escalation-rules/{public_id}/" in out.getvalue()
