"""One answer to "who can this app's cards reach": a person with no linked account in the app
that delivers a rule is unreachable on the rule's page, on the app's page and when sending
(``escalation_targets.not_linked``)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.feishu import escalation_targets
from integrations.feishu.cards import delivery
from integrations.feishu.models import LinkedAccount
from tests.factories import (
    EscalationLevelFactory,
    EscalationRuleFactory,
    FeishuAppFactory,
    IncidentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(channel):
    """One app delivers a rule whose level notifies Linda (linked) and Nora (not linked)."""
    app = FeishuAppFactory(name="Ops bot")
    linda = UserFactory(username="linda", first_name="Linda")
    nora = UserFactory(username="nora", first_name="Nora")
    LinkedAccount.objects.create(user=linda, app=app, open_id="ou_linda")
    channel.escalation_rules.all().delete()
    rule = EscalationRuleFactory(channel=channel, name="Paging", feishu_app=app)
    EscalationLevelFactory(rule=rule, position=1, users=[linda, nora])
    return {"app": app, "rule": rule, "linda": linda, "nora": nora, "channel": channel}


def test_the_rule_page_says_who_is_not_linked(admin_client, world):
    url = reverse("admin:oncall_escalationrule_change", args=[world["rule"].pk])
    page = admin_client.get(url).content.decode()
    assert "every target is reachable" not in page
    assert "Level 1: Nora not linked to Ops bot" in page
    assert "Linda not linked" not in page


def test_the_app_page_says_the_same(admin_client, world):
    url = reverse("admin:integrations_feishuapp_change", args=[world["app"].pk])
    page = admin_client.get(url).content.decode()
    assert '<span class="check-failed">Nora</span>' in page
    assert "Linda</span>" not in page


def test_the_api_lists_the_same_problem(admin_client, world):
    url = f"/api/v1/escalation-rules/{world['rule'].public_id}/"
    problems = admin_client.get(url).json()["warnings"]
    assert any(p.startswith("Level 1: Nora not linked to Ops bot") for p in problems)


def test_sending_finds_the_same_people_unreachable(world):
    incident = IncidentFactory(channel=world["channel"])
    notified = delivery.notify(incident, world["app"], [world["linda"], world["nora"]], [])
    assert notified.unreachable == ["Nora"]
    assert escalation_targets.not_linked(world["app"], [world["linda"], world["nora"]]) == [
        world["nora"]
    ]


def test_linking_makes_the_rule_reachable(admin_client, world):
    LinkedAccount.objects.create(user=world["nora"], app=world["app"], open_id="ou_nora")
    url = reverse("admin:oncall_escalationrule_change", args=[world["rule"].pk])
    assert "None: every target is reachable." in admin_client.get(url).content.decode()
