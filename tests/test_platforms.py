"""The chat-platform contract (``oncall.platforms``): a platform the core has never heard of
(tests/stub_platform, listed in the settings) is offered as a level's target in the API and the
admin, is asked to notify, and hears every change, with no change to ``oncall/``."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from oncall import escalation, lifecycle
from oncall.models import EscalationLevel, Incident, TimelineEntry
from oncall.platforms import PlatformBase, platforms
from oncall.signals import incident_changed
from oncall.timeline import Actor
from tests.escalation_rule_requests import payload, rule_form
from tests.factories import (
    IncidentFactory,
    UserFactory,
)
from tests.stub_platform.platform import CALLS, StubPlatform

pytestmark = pytest.mark.django_db

STUB = "tests.stub_platform.platform.StubPlatform"


@pytest.fixture(autouse=True)
def _stub_installed(settings):
    settings.CHAT_PLATFORMS = [*settings.CHAT_PLATFORMS, STUB]
    CALLS.clear()


def test_the_registry_builds_the_listed_platforms_in_order():
    assert [p.name for p in platforms()] == ["feishu", "dingtalk", "stub"]
    assert isinstance(platforms()[2], StubPlatform)


def test_a_listed_class_that_is_not_a_platform_is_refused(settings):
    settings.CHAT_PLATFORMS = ["oncall.models.Channel"]
    with pytest.raises(TypeError, match="does not fulfil"):
        platforms()


class TestTargetsThroughTheApi:
    def test_a_level_takes_the_platforms_targets_and_shows_them(self, staff, channel):
        body = payload(channel, {"stub_addresses": ["ops.stub", "dba.stub"]})

        created = staff.post("/api/v1/escalation-rules/", body, format="json")

        assert created.status_code == 201, created.json()
        level = EscalationLevel.objects.get(rule__public_id=created.json()["id"])
        assert [t.address for t in level.stub_addresses.all()] == ["ops.stub", "dba.stub"]
        assert created.json()["levels"][0]["stub_addresses"] == ["ops.stub", "dba.stub"]
        assert "Notify ops.stub and dba.stub" in created.json()["levels"][0]["summary"]

    def test_the_platforms_targets_alone_are_enough_for_a_level(self, staff, channel):
        body = payload(channel, {"stub_addresses": ["ops.stub"]})
        assert staff.post("/api/v1/escalation-rules/", body, format="json").status_code == 201
        nobody = payload(channel, {"stub_addresses": []})
        refused = staff.post("/api/v1/escalation-rules/", nobody, format="json")
        assert refused.status_code == 400
        assert "at least one target" in str(refused.json())

    def test_the_platform_validates_its_own_targets(self, staff, channel):
        body = payload(channel, {"notify_channel_members": True, "stub_addresses": ["x.example"]})

        refused = staff.post("/api/v1/escalation-rules/", body, format="json")

        assert refused.status_code == 400
        assert "Addresses end in .stub" in str(refused.json())
        assert not EscalationLevel.objects.filter(stub_addresses__address="x.example").exists()


def test_the_admin_offers_the_platforms_targets_on_a_level(admin_client, channel):
    add = reverse("admin:oncall_escalationrule_add")
    assert 'name="levels-0-stub_addresses"' in admin_client.get(add).content.decode()

    form = rule_form(
        channel, {"position": "0", "stub_addresses": "pager.stub", "escalate_after_minutes": "30"}
    )
    response = admin_client.post(add, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    level = EscalationLevel.objects.get(rule__name="Databases, nights")
    assert [t.address for t in level.stub_addresses.all()] == ["pager.stub"]


def test_escalation_asks_every_platform_to_notify_a_level(
    channel, django_capture_on_commit_callbacks
):
    rule = channel.escalation_rules.get()
    level = rule.levels.get()
    level.stub_addresses.create(address="ops.stub")
    incident = IncidentFactory(channel=channel)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        escalation.plan_start(incident, timezone.now())

    assert ("notify", incident.pk, level.pk, ["ops.stub"]) in CALLS
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineEntry.Kind.NOTIFIED)
    assert "ops.stub (stub)" in entry.message


def test_every_platform_hears_every_change(channel, django_capture_on_commit_callbacks):
    member = UserFactory()
    channel.members.add(member)
    incident = IncidentFactory(channel=channel)

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.claim(incident.pk, Actor(member))

    assert ("changed", incident.pk, TimelineEntry.Kind.CLAIMED) in CALLS
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.ACKNOWLEDGED


class Failing(PlatformBase):
    name = "failing"

    def incident_changed(self, incident_id, kind, incident):
        raise RuntimeError("this platform is down")


def test_a_platform_that_fails_on_a_change_does_not_keep_the_others_from_hearing_it(
    settings, caplog
):
    settings.CHAT_PLATFORMS = ["tests.test_platforms.Failing", STUB]

    with caplog.at_level(logging.ERROR):
        incident_changed.send(sender=None, incident_id=7, kind="claimed", incident=None)

    assert ("changed", 7, "claimed") in CALLS
    assert "platform failing failed to follow a change" in caplog.text
