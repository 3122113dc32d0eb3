"""The API budget: calls counted per app and quota month by the real database meter, warnings
at 80 % and 100 % given once (by the call whose number reaches them), and the admin page and
the API showing it. Counting a client's calls and Feishu's 99991403 are tested against the
sandbox (``tests/feishu/sandbox/test_budget_spent.py``)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.feishu import budget
from integrations.feishu.models import ApiPlan, ApiUsage
from tests.factories import FeishuAppFactory


@pytest.fixture
def app(db):
    return FeishuAppFactory(platform="feishu", api_base_url="")


def calls_of(app) -> int:
    return ApiUsage.objects.get(app=app, month=budget.quota_month()).calls


def with_calls(app, calls: int) -> None:
    ApiUsage.objects.update_or_create(
        app=app, month=budget.quota_month(), defaults={"calls": calls}
    )


# --- Counting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        # Feishu's month starts on the 1st in China's time (UTC+8).
        (datetime(2026, 11, 30, 15, 59, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), date(2026, 12, 1)),
    ],
)
def test_the_quota_month_starts_on_the_first_in_chinas_time(moment, month):
    assert budget.quota_month(moment) == month


def test_each_month_has_its_own_count(app):
    meter = budget.DatabaseMeter(app, clock=lambda: datetime(2026, 11, 20, tzinfo=UTC))
    meter.count_call()
    meter._clock = lambda: datetime(2026, 12, 2, tzinfo=UTC)
    meter.count_call()
    meter.count_call()

    counts = dict(ApiUsage.objects.filter(app=app).values_list("month", "calls"))
    assert counts == {date(2026, 11, 1): 1, date(2026, 12, 1): 2}


# --- Warnings ---------------------------------------------------------------------------------


def test_the_calls_that_reach_80_and_100_percent_each_warn_once(app):
    app.api_monthly_quota = 10
    with_calls(app, 6)
    meter = budget.DatabaseMeter(app)

    crossed = []
    for _ in range(7):  # calls 7 to 13
        meter.count_call()
        crossed.append(meter.take_crossings())

    assert crossed == [[], [80], [], [100], [], [], []]


def test_a_second_meter_does_not_warn_again_this_month(app):
    app.api_monthly_quota = 10
    with_calls(app, 7)
    first = budget.DatabaseMeter(app)
    first.count_call()
    assert first.take_crossings() == [80]

    second = budget.DatabaseMeter(app)
    second.count_call()

    assert second.take_crossings() == []


def test_meters_counting_in_turn_warn_once_between_them(app):
    app.api_monthly_quota = 10
    meters = [budget.DatabaseMeter(app) for _ in range(3)]
    for n in range(12):
        meters[n % 3].count_call()

    # Calls 8 and 10 were the second and the first meter's.
    assert [m.take_crossings() for m in meters] == [[100], [80], []]


def test_a_limit_lowered_below_the_count_is_past_its_thresholds_without_a_warning(app):
    with_calls(app, 500)
    app.api_monthly_quota = 100
    meter = budget.DatabaseMeter(app)

    meter.count_call()

    assert meter.take_crossings() == []
    assert budget.usage(app).level == "100"  # the admin page and the API say it


def test_a_raised_limit_warns_again_when_its_own_80_percent_is_reached(app):
    app.api_monthly_quota = 10
    with_calls(app, 9)
    meter = budget.DatabaseMeter(app)
    meter.count_call()
    assert meter.take_crossings() == [100]  # 80 % was the 8th call, before this meter
    app.api_monthly_quota = 50_000  # the tenant was given more (Feishu raised free tenants)
    with_calls(app, 39_999)

    meter.count_call()

    assert meter.take_crossings() == [80]


def test_an_unlimited_plan_counts_without_warnings(app):
    app.api_plan = ApiPlan.UNLIMITED
    app.save()
    with_calls(app, 1_000_000)
    meter = budget.DatabaseMeter(app)

    meter.count_call()

    assert (meter.take_crossings(), calls_of(app)) == ([], 1_000_001)
    assert budget.usage(app).level == ""


def test_the_free_plan_is_the_default_with_10000_calls():
    app = FeishuAppFactory.build()
    assert (app.api_plan, app.monthly_call_limit) == (ApiPlan.FREE, 10_000)


# --- Spent: against the sandbox, in tests/feishu/sandbox/test_budget_spent.py ----------------


# --- Showing it -------------------------------------------------------------------------------


def test_the_api_shows_this_months_calls_limit_and_warning(app, admin_user):
    with_calls(app, 8_500)
    api = APIClient()
    api.force_authenticate(admin_user)

    usage = api.get(f"/api/v1/feishu-apps/{app.public_id}/").json()["api_usage"]

    assert usage["calls"] == 8_500
    assert (usage["limit"], usage["percent"], usage["warning"]) == (10_000, 85.0, "80")
    assert "8,500 of 10,000 Open API calls" in usage["message"]


def test_the_api_sets_the_plan_and_a_quota_override(app, admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    url = f"/api/v1/feishu-apps/{app.public_id}/"

    response = api.patch(url, {"api_plan": "free", "api_monthly_quota": 50_000}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["api_usage"]["limit"] == 50_000
    assert api.patch(url, {"api_plan": "gold"}, format="json").status_code == 400
    assert api.patch(url, {"api_monthly_quota": 0}, format="json").status_code == 400


def test_the_admin_page_shows_the_count_and_warns_at_the_top(app, admin_client):
    with_calls(app, 10_000)

    page = admin_client.get(reverse("admin:integrations_feishuapp_change", args=[app.pk]))

    text = page.content.decode()
    assert "10,000 of 10,000 Open API calls" in text
    assert text.count("has made 100 % of its 10,000 Open API calls this month") == 2  # top, field


def test_the_admin_page_says_nothing_alarming_below_80_percent(app, admin_client):
    with_calls(app, 120)

    page = admin_client.get(reverse("admin:integrations_feishuapp_change", args=[app.pk]))

    text = page.content.decode()
    assert "120 of 10,000 Open API calls" in text
    assert "Feishu API budget" not in text


# --- Concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threads_counting_at_once_lose_no_call_and_warn_once_each():
    """Four connections x 50 calls at once, from an empty month: the count is exact and each
    threshold is reached by exactly one call, which alone warns."""
    assert connection.vendor == "postgresql"
    app = FeishuAppFactory(api_monthly_quota=100)
    barrier = threading.Barrier(4)
    crossed: list[int] = []

    def count() -> None:
        meter = budget.DatabaseMeter(app)
        barrier.wait()
        try:
            for _ in range(50):
                meter.count_call()
            crossed.extend(meter.take_crossings())
        finally:
            connection.close()

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert calls_of(app) == 200
    assert sorted(crossed) == [80, 100]


def test_the_admin_form_sets_the_plan_and_the_checklist_names_the_linking_scopes(app, admin_client):
    url = reverse("admin:integrations_feishuapp_change", args=[app.pk])
    form = {
        "name": app.name,
        "platform": "feishu",
        "app_id": app.app_id,
        "enabled": "on",
        "api_plan": "unlimited",
        "api_monthly_quota": "",
    }

    assert admin_client.post(url, form).status_code == 302

    app.refresh_from_db()
    assert (app.api_plan, app.monthly_call_limit) == (ApiPlan.UNLIMITED, None)
    page = admin_client.get(url).content.decode()
    assert "contact:user.email:readonly" in page
    assert "contact:user.phone:readonly" in page
