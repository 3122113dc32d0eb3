"""The incident page cards link to: who may see it, what it shows, and its query budget."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from integrations.dingtalk import war_rooms as dingtalk_war_rooms
from integrations.feishu import war_rooms
from oncall.links import incident_url
from oncall.models import Alert, Incident
from tests.factories import (
    AlertFactory,
    IncidentFactory,
    TimelineEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(channel):
    return IncidentFactory(channel=channel, title="Disk 95% full on db-1", severity="warning")


def page_of(incident: Incident) -> str:
    return f"/incidents/{incident.public_id}/"


def test_it_is_the_page_cards_link_to(incident, settings):
    settings.PUBLIC_BASE_URL = "https://oncall.example.org"

    assert incident_url(incident) == f"https://oncall.example.org{page_of(incident)}"


def test_it_sends_someone_signed_out_to_sign_in_and_back(client, incident):
    response = client.get(page_of(incident))

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={page_of(incident)}"


def test_it_hides_an_incident_of_a_channel_the_user_is_not_a_member_of(client, incident, outsider):
    client.force_login(outsider)

    assert client.get(page_of(incident)).status_code == 404


def test_it_answers_404_for_an_unknown_incident(client, responder):
    client.force_login(responder)

    assert client.get("/incidents/8f0c5f7e-4d2a-4c67-9a35-2f6d0d0a1b2c/").status_code == 404


def test_it_shows_any_incident_to_a_superuser(client, incident):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    assert client.get(page_of(incident)).status_code == 200


def test_it_shows_the_incident_to_a_member_of_its_channel(client, incident, responder):
    client.force_login(responder)

    response = client.get(page_of(incident))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Disk 95% full on db-1</h1>" in html
    assert f"Incident #{incident.number}" in html
    assert "Warning" in html
    assert "Triggered" in html
    assert incident.channel.name in html


def test_it_says_who_claimed_it_in_the_words_of_the_card(client, incident, responder):
    incident.status = Incident.Status.ACKNOWLEDGED
    incident.claimed_by, incident.claimed_at = responder, timezone.now()
    incident.save()
    client.force_login(responder)

    html = client.get(page_of(incident)).content.decode()

    assert f"Claimed by Alice at {timezone.localtime().strftime('%H:%M')}" in html


def test_it_says_the_system_closed_an_incident_nobody_closed_by_hand(client, incident, responder):
    incident.status, incident.closed_at = Incident.Status.CLOSED, timezone.now()
    incident.save()
    client.force_login(responder)

    html = client.get(page_of(incident)).content.decode()

    assert "Closed by system at" in html
    assert "<dt>Closed by</dt>" in html


def test_it_shows_each_alert_with_labels_times_count_and_links(client, incident, responder):
    AlertFactory(
        incident=incident,
        title="DiskFull on db-1",
        description="Disk is 95% full",
        status=Alert.Status.RESOLVED,
        labels={"instance": "db-1", "alertname": "DiskFull"},
        links=[
            {"href": "https://grafana.example.com/d/disk", "text": "Dashboard"},
            {"href": "javascript:alert(1)", "text": "Evil"},
        ],
        first_seen=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        last_seen=datetime(2026, 11, 21, 10, 30, tzinfo=UTC),
        event_count=7,
    )
    client.force_login(responder)

    html = client.get(page_of(incident)).content.decode()

    assert "Alerts (1)" in html
    assert "DiskFull on db-1" in html
    assert "Disk is 95% full" in html
    assert "Resolved" in html
    assert html.index("<dt>alertname</dt>") < html.index("<dt>instance</dt>")
    assert "<dd>db-1</dd>" in html
    assert "2026-11-21 10:00" in html
    assert "2026-11-21 10:30" in html
    assert "<dd>7</dd>" in html
    assert 'href="https://grafana.example.com/d/disk"' in html
    assert "javascript:" not in html


def test_it_shows_the_timeline_with_time_actor_and_source(client, incident, responder):
    TimelineEntryFactory(
        incident=incident,
        kind="created",
        message="Incident opened",
        created_at=datetime(2026, 11, 21, 10, 0, 5, tzinfo=UTC),
    )
    TimelineEntryFactory(
        incident=incident,
        kind="claimed",
        message="Claimed by Alice",
        actor=responder,
        source="feishu",
        created_at=datetime(2026, 11, 21, 10, 2, tzinfo=UTC),
    )
    client.force_login(responder)

    html = client.get(page_of(incident)).content.decode()

    assert html.index("Incident opened") < html.index("Claimed by Alice")
    assert "2026-11-21 10:00:05" in html
    assert "System" in html
    metas = [
        " ".join(m.split())
        for m in re.findall(r'<span class="timeline-meta">(.*?)</span>', html, re.S)
    ]
    assert "Alice · via Feishu" in metas


def test_it_escapes_what_alerts_and_people_wrote(client, incident, responder):
    incident.title = "<script>alert(1)</script>"
    incident.save()
    AlertFactory(incident=incident, labels={"x": "<img src=x onerror=alert(1)>"})
    client.force_login(responder)

    html = client.get(page_of(incident)).content.decode()

    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_it_is_a_page_for_phones_too(client, incident, responder):
    client.force_login(responder)

    html = client.get(page_of(incident)).content.decode()

    assert '<html lang="en">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "oncall/pages.css" in html


def test_it_reads_the_same_number_of_rows_however_long_the_incident_is(
    client, incident, responder, django_assert_max_num_queries
):
    client.force_login(responder)
    other = UserFactory(username="bob")

    def add(count: int) -> None:
        for n in range(count):
            AlertFactory(incident=incident, first_seen=timezone.now() - timedelta(minutes=n))
            TimelineEntryFactory(incident=incident, actor=other if n % 2 else responder)

    add(1)
    war_rooms.apps_in_use()  # the count of apps with war rooms, read once and kept
    dingtalk_war_rooms.apps_in_use()  # and DingTalk's (apps with a group template)
    # 8: the changes before it (one query), and each chat platform's deliveries (Feishu, DingTalk)
    with django_assert_max_num_queries(8) as few:
        assert client.get(page_of(incident)).status_code == 200
    add(40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(page_of(incident))

    assert response.content.decode().count('<article class="alert"') == 41
