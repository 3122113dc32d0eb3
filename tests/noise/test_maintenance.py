"""Maintenance windows: incidents still open, marked; nothing notifies until the window ends;
the channel's page and API announce the windows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import escalation
from oncall.models import Incident, MaintenanceWindow, TimelineEntry
from tests.factories import AlertSourceFactory, ChannelFactory, IncidentFactory, api_as
from tests.noise.pushes import standard_source
from tests.stub_platform.platform import NOTIFIED_LEVELS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_platform")]


@pytest.fixture
def source(channel):
    """A standard-protocol source (this module pushes with ``emit``)."""
    return standard_source(channel)


def window(minutes_from: int = -5, minutes_to: int = 60, **where) -> MaintenanceWindow:
    now = timezone.now()
    made = MaintenanceWindow(
        name="DB upgrade",
        starts_at=now + timedelta(minutes=minutes_from),
        ends_at=now + timedelta(minutes=minutes_to),
        **where,
    )
    made.full_clean()
    made.save()
    return made


def run_due_step(incident: Incident) -> None:
    due = timezone.now() - timedelta(seconds=1)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=due)
    escalation.step(incident.pk, due.isoformat())


def test_an_incident_opened_in_a_channel_window_is_marked_and_waits_for_its_end(emit, channel):
    running = window(channel=channel)
    emit()

    incident = Incident.objects.get()
    assert incident.in_maintenance
    assert incident.maintenance_window == running
    assert NOTIFIED_LEVELS == []
    assert incident.next_escalation_at == running.ends_at
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds.count(TimelineEntry.Kind.MAINTENANCE) == 2  # opened in it; held by it


def test_once_the_window_ended_a_still_open_incident_is_notified(emit, channel):
    running = window(channel=channel)
    emit()
    incident = Incident.objects.get()
    running.ends_at = timezone.now() - timedelta(seconds=5)
    running.save()

    run_due_step(incident)

    assert [(incident.pk, 0)] == NOTIFIED_LEVELS


def test_a_source_window_covers_the_incidents_of_its_alerts_only(emit, source, channel):
    window(source=source)
    other = AlertSourceFactory(channel=channel, kind="standard")
    emit(key="other", to=other)
    assert not Incident.objects.get().in_maintenance
    assert len(NOTIFIED_LEVELS) == 1

    emit(key="mine")
    mine = Incident.objects.get(alerts__alert_key="mine")
    assert mine.in_maintenance
    assert len(NOTIFIED_LEVELS) == 1


def test_the_mark_is_the_window_it_opened_in(emit, channel, admin_client):
    running = window(channel=channel)
    emit(key="in-it")
    running.ends_at = timezone.now() - timedelta(seconds=1)
    running.save()
    emit(key="after-it")
    marked = Incident.objects.get(alerts__alert_key="in-it")
    assert marked.in_maintenance
    assert not Incident.objects.get(alerts__alert_key="after-it").in_maintenance

    listed = admin_client.get("/admin/oncall/incident/?maintenance_window__isempty=0")
    assert [i.pk for i in listed.context["cl"].result_list] == [marked.pk]

    running.delete()  # a window that no longer exists marks nothing
    marked.refresh_from_db()
    assert not marked.in_maintenance
    assert marked.timeline.filter(kind=TimelineEntry.Kind.MAINTENANCE).exists()


def test_a_window_that_has_not_started_changes_nothing(emit, channel):
    window(minutes_from=30, minutes_to=90, channel=channel)
    emit()
    assert not Incident.objects.get().in_maintenance
    assert len(NOTIFIED_LEVELS) == 1


def test_an_incident_opened_before_a_channel_window_is_held_during_it(emit, channel):
    emit()
    incident = Incident.objects.get()
    window(channel=channel)
    run_due_step(incident)
    assert len(NOTIFIED_LEVELS) == 1  # only the first notification, before the window
    incident.refresh_from_db()
    assert not incident.in_maintenance  # not opened in it: not marked


def test_a_window_needs_a_channel_or_a_source_and_an_end_after_its_start(channel, source):
    from django.core.exceptions import ValidationError

    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        MaintenanceWindow(name="x", starts_at=now, ends_at=now).full_clean()
    assert set(refused.value.message_dict) >= {"channel", "ends_at"}
    with pytest.raises(ValidationError):
        MaintenanceWindow(
            name="x", channel=channel, source=source, starts_at=now, ends_at=now
        ).full_clean()


def test_the_channel_page_and_api_announce_windows(signed_in, channel, responder):
    window(channel=channel)
    window(minutes_from=60 * 24, minutes_to=60 * 25, channel=channel)
    page = signed_in.get(f"/channels/{channel.public_id}/").content.decode()
    assert "DB upgrade" in page
    assert "Now:" in page
    assert "Planned:" in page

    answer = api_as(responder).get(f"/api/v1/channels/{channel.public_id}/").json()
    assert [w["running"] for w in answer["maintenance"]] == [True, False]


def test_the_incident_page_and_api_show_the_mark(emit, channel, signed_in, responder):
    window(channel=channel)
    emit()
    incident = Incident.objects.get()
    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "In maintenance" in page
    answer = api_as(responder).get(f"/api/v1/incidents/{incident.public_id}/").json()
    assert answer["in_maintenance"] is True
    assert answer["maintenance_window"] == str(incident.maintenance_window.public_id)


# --- The windows read once for a batch's level 1 steps -----------------------------------------


def test_a_book_read_moments_ago_answers_as_the_database_does(channel, source):
    """The merge reads the running windows once for the level 1 steps it runs at commit; the
    book's answer must be the database's, a window that ended since included."""
    from oncall.noise.maintenance import MaintenanceBook, covering

    other = ChannelFactory(name="Elsewhere")
    incident = IncidentFactory(channel=channel)
    elsewhere = IncidentFactory(channel=other)
    running = window(channel=channel, minutes_to=1)
    now = timezone.now()
    book = MaintenanceBook.load(now)

    assert book.covering(incident, now) == covering(incident, now) == running
    assert book.covering(elsewhere, now) is covering(elsewhere, now) is None
    after_its_end = running.ends_at + timedelta(seconds=1)
    assert book.covering(incident, after_its_end) is covering(incident, after_its_end) is None


def test_while_a_source_window_runs_the_book_asks_the_database(emit, source, channel):
    from oncall.noise.maintenance import MaintenanceBook

    emit()
    incident = Incident.objects.get()
    book = MaintenanceBook.load(timezone.now())  # read before the window starts
    running = window(source=source)
    assert book.covering(incident, timezone.now()) is None  # nothing ran when it was read

    book = MaintenanceBook.load(timezone.now())
    assert book.covering(incident, timezone.now()) == running
    unrelated = IncidentFactory(channel=channel)
    assert book.covering(unrelated, timezone.now()) is None
