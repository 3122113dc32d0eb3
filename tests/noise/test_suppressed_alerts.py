"""The alert list shows suppressed alerts (no incident) and filters them by why."""

from __future__ import annotations

import pytest
from django.utils import timezone

from oncall import lifecycle
from oncall.models import Alert
from oncall.timeline import Actor
from tests.factories import AlertSourceFactory, IncidentFactory, api_as


def suppressed_alert(channel, why: str | None, key: str) -> Alert:
    """An alert ``why`` kept from opening an incident; None: an ordinary one, in an incident."""
    now = timezone.now()
    return Alert.objects.create(
        channel=channel,
        source=AlertSourceFactory(channel=channel),
        incident=None if why else IncidentFactory(channel=channel),
        alert_key=key,
        title=key,
        severity="warning",
        first_seen=now,
        last_seen=now,
        suppressed=why,
        suppressed_detail={"rule": 1} if why else {},
    )


Why = Alert.Suppression
EVERY_KIND = {
    "plain": None,
    "silenced": Why.SILENCED,
    "inhibited": Why.INHIBITED,
    "dropped": Why.PIPELINE_DROPPED,
}
SUPPRESSED = {"silenced", "inhibited", "dropped"}


@pytest.fixture
def every_kind(channel):
    for key, why in EVERY_KIND.items():
        suppressed_alert(channel, why, key)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("suppressed=silenced", {"silenced"}),
        ("suppressed=inhibited", {"inhibited"}),
        ("suppressed=pipeline_dropped", {"dropped"}),
        ("suppressed__isnull=true", {"plain"}),
        ("suppressed__isnull=false", SUPPRESSED),
        ("", set(EVERY_KIND)),
    ],
)
def test_the_api_alert_list_filters_by_why_it_opened_no_incident(
    every_kind, responder, query, listed
):
    answer = api_as(responder).get(f"/api/v1/alerts/?{query}").json()["results"]
    assert {a["alert_key"] for a in answer} == listed  # these in, every other kind out
    for alert in answer:
        assert (alert["incident"] is None) == (alert["alert_key"] in SUPPRESSED)


@pytest.mark.django_db
def test_the_api_shows_what_suppressed_an_alert_and_refuses_an_unknown_reason(
    every_kind, responder
):
    api = api_as(responder)
    inhibited = api.get("/api/v1/alerts/?suppressed=inhibited").json()["results"]
    assert inhibited[0]["suppressed_detail"] == {"rule": 1}
    assert api.get("/api/v1/alerts/?suppressed=nonsense").status_code == 400


@pytest.mark.django_db
def test_it_refuses_to_split_a_suppressed_alert(channel, responder):
    alert = suppressed_alert(channel, Alert.Suppression.INHIBITED, "k")
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.split(alert, Actor(responder, "api"))
    assert "suppressed" in refused.value.message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("suppressed__exact=silenced", {"silenced"}),
        ("suppressed__exact=inhibited", {"inhibited"}),
        ("suppressed__exact=pipeline_dropped", {"dropped"}),
        ("suppressed__isnull=True", {"plain"}),
        ("", set(EVERY_KIND)),
    ],
)
def test_the_admin_alert_list_filters_by_why_it_opened_no_incident(
    admin_client, every_kind, query, listed
):
    page = admin_client.get(f"/admin/oncall/alert/?{query}")
    assert page.status_code == 200
    assert {a.alert_key for a in page.context["cl"].result_list} == listed
