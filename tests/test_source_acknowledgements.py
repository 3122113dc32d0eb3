"""An incident an alert source acknowledged (PagerDuty's ``acknowledge``: no person holds it)
reads "Acknowledged by <source>" on every surface: the web page, the Feishu card, the
timeline, and the refusal a person gets when claiming it; never "Claimed by nobody"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override

from integrations.feishu.cards.render import incident_card
from oncall import lifecycle
from oncall.models import Incident, TimelineEntry
from oncall.timeline import Actor
from oncall.wording import status_line
from tests import payloads
from tests.factories import AlertSourceFactory


@pytest.fixture
def acknowledged(push, channel) -> Incident:
    source = AlertSourceFactory(channel=channel, kind="pagerduty", name="Legacy PD")
    push(source, payloads.pagerduty("trigger", dedup_key="disk-db-1"))
    push(source, payloads.pagerduty("acknowledge", dedup_key="disk-db-1"))
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.claimed_by is None
    return incident


def at(incident: Incident) -> str:
    return timezone.localtime(incident.claimed_at).strftime("%H:%M")


def test_it_says_acknowledged_by_the_source_on_the_timeline(acknowledged):
    entry = acknowledged.timeline.get(kind=TimelineEntry.Kind.CLAIMED)
    assert entry.message == "Acknowledged by Legacy PD"


def test_its_status_line_names_the_source(acknowledged):
    line = status_line(acknowledged, timezone.now())
    assert line == f"Acknowledged by Legacy PD at {at(acknowledged)}"
    with override("zh-hans"):
        assert status_line(acknowledged, timezone.now()) == f"Legacy PD 于 {at(acknowledged)} 确认"


def test_naming_the_source_reads_nothing_more_from_the_database(
    acknowledged, django_assert_num_queries
):
    incident = Incident.objects.get(pk=acknowledged.pk)
    with django_assert_num_queries(0):
        status_line(incident, timezone.now())


def test_the_name_goes_when_a_person_unclaims_it(acknowledged, django_user_model):
    person = Actor(django_user_model.objects.create(username="ann", is_superuser=True))
    lifecycle.unclaim(acknowledged, person)
    acknowledged.refresh_from_db()
    assert acknowledged.acknowledged_by_source == ""


def test_the_incident_page_says_acknowledged_by_the_source(signed_in, acknowledged):
    html = signed_in.get(f"/incidents/{acknowledged.public_id}/").content.decode()
    assert f"Acknowledged by Legacy PD at {at(acknowledged)}" in html
    assert "Claimed by nobody" not in html


def test_the_card_says_acknowledged_by_the_source(acknowledged):
    card = incident_card(acknowledged, alerts=list(acknowledged.alerts.all()), now=timezone.now())
    status = next(
        field["text"]["content"]
        for field in card["elements"][0]["fields"]
        if field["text"]["content"].startswith("**Status**")
    )
    assert status.endswith(f"Acknowledged by Legacy PD at {at(acknowledged)}")


def test_a_snoozed_acknowledged_incident_names_the_source(acknowledged, responder):
    lifecycle.snooze(acknowledged, Actor(responder, "web"), timedelta(hours=1))
    acknowledged.refresh_from_db()
    assert status_line(acknowledged, timezone.now()).endswith("· acknowledged by Legacy PD")


def test_claiming_it_says_who_acknowledged_it(acknowledged, responder):
    with pytest.raises(lifecycle.TransitionRefused) as refused:
        lifecycle.claim(acknowledged, Actor(responder, "web"))
    assert str(refused.value).startswith("Already acknowledged by Legacy PD at ")


def test_unclaiming_it_names_the_source_it_was_held_by(acknowledged, responder):
    lifecycle.unclaim(acknowledged, Actor(responder, "web"))
    entry = acknowledged.timeline.get(kind=TimelineEntry.Kind.UNCLAIMED)
    assert entry.message == "Unclaimed by Alice (was Legacy PD)"
