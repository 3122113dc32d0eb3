"""Where DingTalk's cards show beside Feishu's: the escalation rule's DingTalk app and groups
in the REST API (a group whose cool app was uninstalled is a problem of the rule), the API
budget on the app's admin page and in the API, and people's DingTalk userIds in the linked
accounts' admin."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.chatkit.ratelimit import DatabaseLimiter
from integrations.dingtalk import budget
from integrations.dingtalk.cards import delivery
from integrations.dingtalk.models import (
    DingTalkAccount,
    DingTalkApiUsage,
    DingTalkCardDelivery,
    DingTalkGroup,
    DingTalkRateWindow,
)
from integrations.dingtalk.platform import DingTalkPlatform
from tests.clocks import FakeClock
from tests.dingtalk.factories import DingTalkAppFactory, DingTalkGroupFactory
from tests.escalation_rule_requests import MEMBERS, payload
from tests.factories import ChannelFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_a_rule_targets_groups_and_an_uninstalled_one_is_shown_broken(api):
    app = DingTalkAppFactory()
    group = DingTalkGroupFactory(app=app, name="SRE")
    channel = ChannelFactory()
    level = {**MEMBERS, "dingtalk_groups": [group.pk]}
    body = payload(channel, level, dingtalk_app=str(app.public_id))

    created = api.post("/api/v1/escalation-rules/", body, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["levels"][0]["dingtalk_groups"] == [group.pk]
    assert created.json()["dingtalk_app"] == str(app.public_id)
    DingTalkGroup.objects.filter(pk=group.pk).update(status=DingTalkGroup.Status.UNINSTALLED)
    shown = api.get(f"/api/v1/escalation-rules/{created.json()['id']}/").json()
    assert any("SRE" in p and "uninstalled" in p for p in shown["warnings"])


def test_a_group_of_another_app_is_refused_with_the_reason(api):
    app = DingTalkAppFactory()
    elsewhere = DingTalkGroupFactory(name="Elsewhere")
    body = payload(
        ChannelFactory(),
        {**MEMBERS, "dingtalk_groups": [elsewhere.pk]},
        dingtalk_app=str(app.public_id),
    )
    response = api.post("/api/v1/escalation-rules/", body, format="json")
    assert response.status_code == 400
    assert "Elsewhere belong to another DingTalk app" in str(response.json())


def test_an_uninstalled_group_cannot_be_chosen_anew(api):
    group = DingTalkGroupFactory(status=DingTalkGroup.Status.UNINSTALLED)
    body = payload(ChannelFactory(), {**MEMBERS, "dingtalk_groups": [group.pk]})
    assert api.post("/api/v1/escalation-rules/", body, format="json").status_code == 400


def test_the_budget_shows_in_the_api_and_warns_on_the_admin_page(api, admin_client):
    app = DingTalkAppFactory()
    DingTalkApiUsage.objects.create(app=app, month=budget.quota_month(), calls=8_500)

    usage = api.get(f"/api/v1/dingtalk-apps/{app.public_id}/").json()["api_usage"]
    page = admin_client.get(reverse("admin:dingtalk_dingtalkapp_change", args=[app.pk]))

    assert (usage["calls"], usage["limit"], usage["level"]) == (8_500, 10_000, "warning")
    assert [str(m) for m in page.context["messages"]] == [budget.describe(app)]
    assert "8,500 of 10,000 calls this month" in page.content.decode()


def test_the_meter_refuses_past_the_editions_month_and_counts_no_further(settings):
    app = DingTalkAppFactory(api_plan="standard")
    DingTalkApiUsage.objects.create(app=app, month=budget.quota_month(), calls=9_999)
    meter = budget.DatabaseMeter(app)

    meter.count_call()  # the 10,000th: allowed
    for _ in range(3):
        with pytest.raises(budget.BudgetSpent):
            meter.count_call()

    assert DingTalkApiUsage.objects.get(app=app).calls == 10_001
    assert budget.usage(app).calls == 10_000


def test_the_meter_holds_the_editions_calls_a_second():
    """20 calls in any second, sliding: the 21st waits until the first is a second old."""
    app = DingTalkAppFactory(api_plan="standard")  # 20 a second
    clock = FakeClock(1_700_000_000.25)
    limiter = DatabaseLimiter(DingTalkRateWindow, clock=clock)
    meter = budget.DatabaseMeter(app, limiter=limiter, sleep=clock.sleep)

    meter.pace(max_wait=0)
    clock.advance(0.5)
    for _ in range(19):
        meter.pace(max_wait=0)
    with pytest.raises(budget.errors.RateLimited) as refused:
        meter.pace(max_wait=0)
    meter.pace(max_wait=1)  # waits for the first call to leave its second

    assert refused.value.retry_after == pytest.approx(0.5)
    assert clock.slept == [0.5]
    with pytest.raises(budget.errors.RateLimited) as refused:
        meter.pace(max_wait=0)
    assert refused.value.retry_after == pytest.approx(0.5)  # the 19 of 0.5 s later


def test_admins_enter_a_person_by_dingtalk_user_id(admin_client):
    app = DingTalkAppFactory()
    alice = UserFactory(username="alice")
    form = {"app": app.pk, "user": alice.pk, "dingtalk_user_id": "staff-alice"}
    response = admin_client.post(reverse("admin:dingtalk_dingtalkaccount_add"), form)
    assert response.status_code == 302
    account = DingTalkAccount.objects.get()
    assert (account.user, account.dingtalk_user_id, account.union_id) == (alice, "staff-alice", "")


def test_admins_correct_a_linked_persons_user_id_but_not_what_sign_in_said(admin_client):
    app = DingTalkAppFactory()
    alice = UserFactory(username="alice")
    account = DingTalkAccount.objects.create(app=app, user=alice, union_id="u-alice", name="A")
    url = reverse("admin:dingtalk_dingtalkaccount_change", args=[account.pk])
    form = {"dingtalk_user_id": "staff-alice", "union_id": "forged", "name": "Mallory"}
    response = admin_client.post(url, form)
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.dingtalk_user_id, account.union_id, account.name) == (
        "staff-alice",
        "u-alice",
        "A",
    )


def test_a_user_id_names_one_person_in_an_app(admin_client):
    app = DingTalkAppFactory()
    DingTalkAccount.objects.create(app=app, user=UserFactory(), dingtalk_user_id="staff-alice")
    form = {"app": app.pk, "user": UserFactory().pk, "dingtalk_user_id": "staff-alice"}
    response = admin_client.post(reverse("admin:dingtalk_dingtalkaccount_add"), form)
    assert response.status_code == 200  # the form again, with the reason
    assert DingTalkAccount.objects.count() == 1


def test_a_person_linked_without_a_user_id_is_not_sent_a_card():
    app = DingTalkAppFactory()
    alice = UserFactory(username="alice", first_name="Alice")
    DingTalkAccount.objects.create(app=app, user=alice, union_id="u-alice")  # no userid found
    incident = IncidentFactory()

    notified = delivery.notify(incident, app, [alice], [])

    assert notified.delivery_ids == []
    assert notified.unreachable == ["Alice"]
    assert DingTalkCardDelivery.objects.get().state == DingTalkCardDelivery.State.NOT_LINKED


def test_a_rule_that_does_not_use_dingtalk_reports_nobody_unreachable_there():
    DingTalkAppFactory()  # the only enabled app, but the rule names no app and no group
    alice = UserFactory(username="alice")
    channel = ChannelFactory()
    rule = channel.escalation_rules.get()
    level = rule.levels.get()
    incident = IncidentFactory(channel=channel)

    report = DingTalkPlatform().notify(incident, rule, level, [alice])

    assert (report.notified, report.unreachable) == ([], [])
    assert not DingTalkCardDelivery.objects.exists()
