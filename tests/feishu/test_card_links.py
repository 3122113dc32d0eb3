"""What the card links and shows, as the knowledge base's default card (1.3.4): links into the
console go through the app's web entry so that Feishu opens them signed in (other sites' links
stay as they are), the alert's runbook and source links, "first seen" from the source's own
start, the resource label joined over every alert, and no body_text_with_table label."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from integrations.feishu.cards.render import console_url, incident_card
from oncall.models import Incident
from oncall.offers import OfferedLink
from tests.factories import AlertFactory, ChannelFactory, IncidentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


class ConsolePageOffers:
    """Offers one console page and one page of another site."""

    def links(self, incident: Incident) -> list[OfferedLink]:
        return [
            OfferedLink("history", "History", f"/incidents/?q={incident.number}"),
            OfferedLink("wiki", "Wiki", "https://wiki.example/db"),
        ]

    def actions(self, incident: Incident) -> list:
        return []

    def run(self, incident, key, actor):
        return None


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.TIME_ZONE = "UTC"
    settings.PUBLIC_BASE_URL = "https://oncall.example"
    settings.INCIDENT_OFFERS = ["tests.feishu.test_card_links.ConsolePageOffers"]


@pytest.fixture
def incident():
    return IncidentFactory(channel=ChannelFactory(name="Databases"), title="Disk full")


def links_of(card: dict) -> dict[str, str]:
    text = "\n".join(
        e["text"]["content"] for e in card["elements"] if e.get("tag") == "div" and "text" in e
    )
    return dict(re.findall(r"\[([^\]]+)\]\(([^)]+)\)", text))


def next_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["next"][0]


def fields_of(card: dict) -> dict[str, str]:
    pairs = (f["text"]["content"].split("\n", 1) for f in card["elements"][0]["fields"])
    return {name.strip("*"): value for name, value in pairs}


def test_console_links_go_through_the_apps_web_entry(app, incident):
    links = links_of(incident_card(incident, alerts=[], now=NOW, app=app))

    page = reverse("incident-detail", kwargs={"public_id": incident.public_id})
    assert links["Open in console"].startswith(app.web_url + "?")
    assert next_of(links["Open in console"]) == page
    assert next_of(links["History"]) == f"/incidents/?q={incident.number}"
    assert links["Wiki"] == "https://wiki.example/db"  # another site: as it is


def test_without_an_app_console_links_are_plain(incident):
    links = links_of(incident_card(incident, alerts=[], now=NOW))

    assert links["Open in console"] == f"https://oncall.example/incidents/{incident.public_id}/"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "https://oncall.example.evil.example/x",
    ],
)
def test_only_console_pages_go_through_the_web_entry(app, url):
    assert console_url(url, app) == url


def test_a_console_address_goes_through_the_web_entry_as_a_path(app):
    wrapped = console_url("https://oncall.example/incidents/?status=open", app)
    assert next_of(wrapped) == "/incidents/?status=open"


def test_it_shows_the_alerts_runbook_and_source_links(app, incident):
    alert = AlertFactory(
        incident=incident,
        links=[
            {"href": "http://prometheus:9090/graph?g0.expr=up", "text": "Source"},
            {"href": "https://runbooks.example/disk", "text": "Runbook"},
            {"href": "javascript:alert(1)", "text": "Evil"},
        ],
    )
    for alerts in ([alert], None):  # given, and read from the database
        links = links_of(incident_card(incident, alerts=alerts, now=NOW, app=app))
        assert links["Source"] == "http://prometheus:9090/graph?g0.expr=up"
        assert links["Runbook"] == "https://runbooks.example/disk"
        assert "Evil" not in links


def test_first_seen_is_when_the_alert_started_at_its_source(app, incident):
    started = NOW - timedelta(hours=3)
    alert = AlertFactory(
        incident=incident,
        started_at=started,
        first_seen=NOW - timedelta(minutes=20),
        last_seen=NOW - timedelta(minutes=5),
    )
    for alerts in ([alert], None):
        card = incident_card(incident, alerts=alerts, now=NOW)
        assert fields_of(card)["First seen"] == "2026-11-20 23:00"


def test_the_body_joins_resource_and_leaves_out_the_table_text(app, incident):
    labels = {"resource": "db-1", "body_text": "Disk 95%", "body_text_with_table": "|a|b|"}
    first = AlertFactory(incident=incident, labels=labels, first_seen=NOW - timedelta(hours=1))
    second = AlertFactory(incident=incident, labels={"resource": "db-2"}, first_seen=NOW)

    card = incident_card(incident, alerts=[first, second], now=NOW, app=app)

    body = card["elements"][2]["text"]["content"]
    assert "Disk 95%" in body
    assert "**resource**: db-1, db-2" in body
    assert "body&#95;text&#95;with&#95;table" not in body
    assert "body_text_with_table" not in body


def test_a_click_whose_options_are_refused_is_answered_with_a_toast(settings):
    """The card runs an action without options; a provider that wants some refuses it
    (``offers.InvalidOptions``) and the clicker is told why."""
    from integrations.feishu.inbound.card_actions import CardAction
    from integrations.feishu.inbound.incident_buttons import handle_offer
    from integrations.feishu.models import LinkedAccount
    from tests.factories import FeishuAppFactory, UserFactory

    settings.INCIDENT_OFFERS = ["tests.offers_provider.PickyOffers"]
    app = FeishuAppFactory()
    alice = UserFactory(username="alice")
    LinkedAccount.objects.create(user=alice, app=app, open_id="ou_alice")
    incident = IncidentFactory(channel=ChannelFactory())
    incident.channel.members.add(alice)
    value = {"action": "offer", "incident": str(incident.public_id), "key": "test:picky"}
    click = CardAction(
        app=app,
        format="new",
        open_id="ou_alice",
        union_id="",
        user_id="",
        value=value,
        tag="button",
        option=None,
        message_id="om_card",
        chat_id="",
        update_token="",
    )

    answer = handle_offer(click)

    assert (answer.toast_type, answer.toast, answer.card) == (
        "error",
        "Name someone to page.",
        None,
    )
