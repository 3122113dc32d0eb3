"""Quick silence from an incident (``oncall.offers``): a 24-hour silence of alerts like its own,
from its severity and stable labels; used again, it edits the same silence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import offers
from oncall.models import ActionSource, Alert, Incident, Silence, TimelineEntry
from oncall.noise.quick_silence import quick_condition, stable_labels
from oncall.timeline import Actor
from tests.factories import AlertFactory, IncidentFactory, api_as
from tests.noise.pushes import standard_source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_silence_offered(settings):
    """The suite runs without offers (tests/settings.py); these tests are quick silence's."""
    settings.INCIDENT_OFFERS = ["oncall.noise.quick_silence.QuickSilenceOffers"]


@pytest.fixture
def source(channel):
    """A standard-protocol source (this module pushes with ``emit``)."""
    return standard_source(channel)


@pytest.fixture
def incident(channel) -> Incident:
    made = IncidentFactory(channel=channel, title="Disk full on db-1", severity="warning")
    AlertFactory(
        incident=made,
        labels={"host": "db-1", "mount": "/data", "value": "97.2", "at": "x", "pod": "db-1-a"},
    )
    AlertFactory(
        incident=made,
        labels={
            "host": "db-1",
            "mount": "/data",
            "value": "99.1",
            "pod": "db-1-b",
            "since": "2026-12-04T10:00:00Z",
            "port": "5432",
        },
    )
    return made


def test_stable_labels_are_common_to_every_alert_less_volatile_ones(incident):
    assert stable_labels(incident) == {"host": "db-1", "mount": "/data"}


def test_whole_numbers_stay_and_decimals_and_moments_go(channel):
    made = IncidentFactory(channel=channel)
    AlertFactory(
        incident=made,
        labels={"port": "5432", "cpu": "93.5", "seen": "2026-12-04 10:00:00", "last_time": "3"},
    )
    assert stable_labels(made) == {"port": "5432"}


def test_an_incident_without_stable_labels_is_silenced_by_its_title(channel):
    made = IncidentFactory(channel=channel, title="Backup late", severity="info")
    AlertFactory(incident=made, labels={"value": "3"})
    assert quick_condition(made) == [
        {"key": "severity", "op": "eq", "value": "info"},
        {"key": "title", "op": "eq", "value": "Backup late"},
    ]


def test_the_api_makes_a_24_hour_silence_and_used_again_edits_the_same_one(incident, responder):
    api = api_as(responder)
    url = f"/api/v1/incidents/{incident.public_id}/actions/quick_silence/"
    assert api.post(url).status_code == 200

    silence = Silence.objects.get()
    assert silence.channel == incident.channel
    assert silence.behaviour == Silence.Behaviour.MARK
    assert silence.created_by == responder
    assert silence.condition == [
        {"key": "severity", "op": "eq", "value": "warning"},
        {"key": "labels.host", "op": "eq", "value": "db-1"},
        {"key": "labels.mount", "op": "eq", "value": "/data"},
    ]
    assert abs(silence.ends_at - silence.starts_at - timedelta(hours=24)) < timedelta(seconds=1)
    first_end = silence.ends_at

    Alert.objects.filter(incident=incident).update(labels={"host": "db-1"})
    answer = api.post(url).json()

    again = Silence.objects.get()
    assert again.pk == silence.pk
    assert again.ends_at >= first_end
    assert {m["key"] for m in again.condition} == {"severity", "labels.host"}
    assert "host=db-1" in answer["message"]
    entries = incident.timeline.filter(kind=TimelineEntry.Kind.SILENCED)
    assert entries.count() == 2


def test_the_page_offers_and_runs_it(incident, signed_in):
    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "Quick silence (24 h)" in page
    response = signed_in.post(f"/incidents/{incident.public_id}/actions/quick_silence/")
    assert response.status_code == 302
    assert Silence.objects.filter(from_incident=incident).exists()


def test_only_members_may_silence_and_closed_incidents_offer_nothing(incident, outsider):
    with pytest.raises(offers.PermissionDenied):
        offers.run_action(incident, "quick_silence", Actor(outsider, ActionSource.API))
    incident.status = Incident.Status.CLOSED
    incident.save()
    assert "quick_silence" not in [a.key for a in offers.incident_actions(incident)]
    assert not Silence.objects.exists()


def test_new_alerts_like_the_incidents_are_then_kept_silenced(emit, channel, responder, source):
    emit(key="first", host="db-1", mount="/data", value="90.1")
    incident = Incident.objects.get()
    offers.run_action(incident, "quick_silence", Actor(responder, ActionSource.API))

    emit(key="second", host="db-1", mount="/data", value="95.0")
    emit(key="third", host="db-2", mount="/data")

    second = Alert.objects.get(alert_key="second")
    assert second.suppressed == Alert.Suppression.SILENCED
    assert second.incident is None
    assert Alert.objects.get(alert_key="third").incident is not None
    assert Silence.objects.get().ends_at > timezone.now() + timedelta(hours=23)
