"""The alert list shows suppressed alerts (no incident) and filters them by why."""

from __future__ import annotations

import pytest
from django.utils import timezone

from oncall import lifecycle
from oncall.models import Alert
from oncall.timeline import Actor
from tests.factories import AlertSourceFactory, api_as


def suppressed_alert(channel, why: str | None, key: str) -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        channel=channel,
        source=AlertSourceFactory(channel=channel),
        incident=None,
        alert_key=key,
        title=key,
        severity="warning",
        first_seen=now,
        last_seen=now,
        suppressed=why,
        suppressed_detail={"rule": 1} if why else {},
    )


@pytest.mark.django_db
def test_it_filters_the_alert_list_by_suppression(channel, responder):
    suppressed_alert(channel, Alert.Suppression.INHIBITED, "inhibited-one")
    suppressed_alert(channel, Alert.Suppression.SILENCED, "silenced-one")
    api = api_as(responder)

    inhibited = api.get("/api/v1/alerts/?suppressed=inhibited").json()["results"]
    assert [a["alert_key"] for a in inhibited] == ["inhibited-one"]
    assert inhibited[0]["incident"] is None
    assert inhibited[0]["suppressed_detail"] == {"rule": 1}
    assert api.get("/api/v1/alerts/?suppressed=nonsense").status_code == 400


@pytest.mark.django_db
def test_it_refuses_to_split_a_suppressed_alert(channel, responder):
    alert = suppressed_alert(channel, Alert.Suppression.INHIBITED, "k")
    with pytest.raises(lifecycle.InvalidRequest) as refused:
        lifecycle.split(alert, Actor(responder, "api"))
    assert "suppressed" in refused.value.message


@pytest.mark.django_db
def test_the_admin_alert_list_filters_by_suppression(admin_client, channel):
    suppressed_alert(channel, Alert.Suppression.INHIBITED, "inhibited-one")
    suppressed_alert(channel, None, "plain-one")
    page = admin_client.get("/admin/oncall/alert/?suppressed__exact=inhibited")
    assert page.status_code == 200
    assert b"inhibited-one" in page.content
    assert b"plain-one" not in page.content
