"""The incident card: colour, title, fields and body by state, the buttons each state offers,
escaping of what alerts carry, the 30 KB limit, and what the sandbox client draws of it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from integrations.dingtalk import war_rooms as dingtalk_war_rooms
from integrations.feishu import war_rooms
from integrations.feishu.cards.render import (
    card_fingerprint,
    escape_lark_md,
    incident_card,
)
from integrations.feishu_sandbox.render import ClickForm, render_card
from oncall.models import Alert, Channel, Incident
from tests.factories import AlertFactory, ChannelFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

# 10:00 in Shanghai; every test runs in that time zone to prove times are converted.
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
FEISHU_LIMIT = 30 * 1024


@pytest.fixture(autouse=True)
def _shanghai(settings):
    settings.TIME_ZONE = "Asia/Shanghai"


@pytest.fixture
def alice():
    return UserFactory(username="alice", first_name="Alice")


@pytest.fixture
def incident():
    channel = ChannelFactory(name="Databases")
    return IncidentFactory(channel=channel, title="Disk 95% full on db-1", severity="critical")


def make_alert(incident: Incident, **fields) -> Alert:
    fields.setdefault("first_seen", NOW - timedelta(minutes=20))
    fields.setdefault("last_seen", NOW - timedelta(minutes=5))
    return AlertFactory(incident=incident, **fields)


def card_of(incident: Incident, *alerts: Alert, now: datetime = NOW) -> dict:
    return incident_card(incident, alerts=list(alerts), now=now)


def fields_of(card: dict) -> dict[str, str]:
    fields = card["elements"][0]["fields"]
    pairs = (field["text"]["content"].split("\n", 1) for field in fields)
    return {name.strip("*"): value for name, value in pairs}


def body_of(card: dict) -> str:
    return card["elements"][2]["text"]["content"]


def actions_of(card: dict) -> list[dict]:
    return next(e for e in card["elements"] if e["tag"] == "action")["actions"]


def serialised_size(card: dict) -> int:
    return len(json.dumps(card, ensure_ascii=False).encode())


def claimed(incident: Incident, user, at: datetime) -> Incident:
    incident.status = Incident.Status.ACKNOWLEDGED
    incident.claimed_by, incident.claimed_at = user, at
    return incident


def closed(incident: Incident, user, at: datetime) -> Incident:
    incident.status = Incident.Status.CLOSED
    incident.closed_by, incident.closed_at = user, at
    return incident


# --- Config, header, title ---------------------------------------------------------------------


def test_it_is_a_shared_wide_card(incident):
    card = card_of(incident)

    assert card["config"] == {"update_multi": True, "wide_screen_mode": True}


@pytest.mark.parametrize(
    ("severity", "colour"), [("critical", "red"), ("warning", "orange"), ("info", "blue")]
)
def test_it_colours_an_open_incident_by_severity(incident, alice, severity, colour):
    incident.severity = severity

    assert card_of(incident)["header"]["template"] == colour
    assert card_of(claimed(incident, alice, NOW))["header"]["template"] == colour


def test_it_colours_a_snoozed_incident_grey_and_a_closed_one_green(incident, alice):
    incident.snoozed_until = NOW + timedelta(hours=1)
    assert card_of(incident)["header"]["template"] == "grey"

    assert card_of(closed(incident, alice, NOW))["header"]["template"] == "green"


def test_it_treats_a_snooze_that_has_ended_as_not_snoozed(incident):
    incident.snoozed_until = NOW - timedelta(minutes=1)

    card = card_of(incident)

    assert card["header"]["template"] == "red"
    assert fields_of(card)["Status"] == "Triggered"


def test_it_titles_the_card_with_the_number_and_a_truncated_title(incident):
    incident.title = "Replication lag " * 40

    title = card_of(incident)["header"]["title"]

    assert title["tag"] == "plain_text"
    assert title["content"].startswith(f"#{incident.number} Replication lag")
    assert title["content"].endswith("…")
    assert len(title["content"]) < 140


# --- Fields ------------------------------------------------------------------------------------


def test_it_shows_channel_severity_alert_counts_and_when_alerts_were_seen(incident):
    first = make_alert(incident, first_seen=NOW - timedelta(minutes=20))
    second = make_alert(
        incident, status=Alert.Status.RESOLVED, last_seen=NOW - timedelta(minutes=2)
    )

    fields = fields_of(card_of(incident, first, second))

    assert fields == {
        "Channel": "Databases",
        "Status": "Triggered",
        "Severity": "Critical",
        "Alerts": "1 firing / 2 total",
        "First seen": "09:40",
        "Last seen": "09:58",
    }


def test_it_says_who_claimed_and_when_in_the_consoles_time_zone(incident, alice):
    card = card_of(claimed(incident, alice, datetime(2026, 11, 21, 1, 42, tzinfo=UTC)))

    assert fields_of(card)["Status"] == "Claimed by Alice at 09:42"


def test_it_gives_the_date_of_a_time_that_is_not_today(incident, alice):
    card = card_of(claimed(incident, alice, datetime(2026, 11, 20, 1, 42, tzinfo=UTC)))

    assert fields_of(card)["Status"] == "Claimed by Alice at 2026-11-20 09:42"


def test_it_says_until_when_an_incident_is_snoozed(incident):
    incident.snoozed_until = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)

    assert fields_of(card_of(incident))["Status"] == "Snoozed until 12:00"


def test_it_says_who_closed_an_incident_and_when(incident):
    bob = UserFactory(username="bob", first_name="Bob")

    card = card_of(closed(incident, bob, datetime(2026, 11, 21, 3, 5, tzinfo=UTC)))

    assert fields_of(card)["Status"] == "Closed by Bob at 11:05"


def test_it_says_the_system_closed_an_incident_nobody_closed_by_hand(incident):
    card = card_of(closed(incident, None, datetime(2026, 11, 21, 3, 5, tzinfo=UTC)))

    assert fields_of(card)["Status"] == "Closed by system at 11:05"


def test_it_escapes_names_people_chose(incident):
    incident.channel.name = "DB <at id=all></at>"
    mallory = UserFactory(username="mallory", first_name="[Mallory](https://evil.example)")

    fields = fields_of(card_of(claimed(incident, mallory, NOW)))

    assert "<at" not in fields["Channel"]
    assert "](" not in fields["Status"]


# --- Body --------------------------------------------------------------------------------------


def test_it_shows_body_text_then_resource_then_the_other_labels_sorted(incident):
    alert = make_alert(
        incident,
        description="Ignored: body_text wins",
        labels={
            "zone": "eu-1",
            "resource": "db-1",
            "body_text": "Disk is 95% full",
            "alertname": "DiskFull",
        },
    )

    body = body_of(card_of(incident, alert))

    assert body.split("\n") == [
        "Disk is 95% full",
        "**resource**: db-1",
        "**alertname**: DiskFull",
        "**zone**: eu-1",
    ]


def test_it_shows_the_description_when_there_is_no_body_text(incident):
    alert = make_alert(incident, description="Disk is 95% full\nsince 09:30", labels={})

    assert body_of(card_of(incident, alert)) == "Disk is 95% full\nsince 09:30"


def test_it_shows_the_alert_that_opened_the_incident(incident):
    later = make_alert(incident, description="later", first_seen=NOW - timedelta(minutes=1))
    first = make_alert(incident, description="first", first_seen=NOW - timedelta(hours=1))

    assert body_of(card_of(incident, later, first)) == "first"


def test_it_leaves_out_the_body_when_the_alert_has_nothing_to_say(incident):
    alert = make_alert(incident, description="", labels={})

    card = card_of(incident, alert)

    assert card["elements"][2]["text"]["content"].startswith("[Open in console](")


def test_it_neutralises_mentions_links_and_emphasis_in_what_alerts_carry(incident):
    alert = make_alert(
        incident,
        description="Call <at id=all></at> now",
        labels={
            "runbook": "[Runbook](https://evil.example/phish)",
            "owner": '<at user_id="ou_123">boss</at>',
            "note": "**urgent** ~~not~~ `code` <font color='red'>x</font> <a href='x'>y</a>",
        },
    )

    body = body_of(card_of(incident, alert))

    assert "<" not in body
    assert "[" not in body
    assert "`" not in body
    assert "~~" not in body
    assert "**urgent**" not in body
    html = str(render_card(card_of(incident, alert)))
    assert 'class="mention"' not in html
    assert all("evil.example" not in href for href in re.findall(r'href="([^"]*)"', html))


def test_it_escapes_the_characters_lark_md_interprets_as_html_entities():
    assert escape_lark_md("a<b>*_~`[]\\&c") == (
        "a&#60;b&#62;&#42;&#95;&#126;&#96;&#91;&#93;&#92;&#38;c"
    )


def test_it_keeps_each_label_on_one_line(incident):
    alert = make_alert(incident, description="", labels={"note": "one\n**severity**: info"})

    assert body_of(card_of(incident, alert)).count("\n") == 0


def test_it_shows_label_values_that_are_not_strings_as_json(incident):
    alert = make_alert(incident, description="", labels={"cpus": 8, "tags": ["a", "b"]})

    assert body_of(card_of(incident, alert)) == '**cpus**: 8\n**tags**: &#91;"a", "b"&#93;'


# --- Link, buttons, note -----------------------------------------------------------------------


def test_it_links_to_the_incidents_page(incident, settings):
    settings.PUBLIC_BASE_URL = "https://oncall.example.org"

    links = [e for e in card_of(incident)["elements"] if "Open in console" in str(e)]

    assert links == [
        {
            "tag": "div",
            "text": {
                "tag": "lark_md",
                "content": f"[Open in console](https://oncall.example.org/incidents/"
                f"{incident.public_id}/)",
            },
        }
    ]


@pytest.fixture
def lifecycle_buttons_only(settings):
    """No ``oncall.offers`` provider: the card's lifecycle buttons alone (offers add theirs,
    with a ``key`` in their values: quick silence, by default)."""
    settings.INCIDENT_OFFERS = []


def names_and_values(card: dict) -> list[tuple[str, dict]]:
    return [(a.get("text", a.get("placeholder"))["content"], a["value"]) for a in actions_of(card)]


def test_it_offers_claim_close_and_snooze_on_a_triggered_incident(incident, settings):
    settings.INCIDENT_OFFERS = ["oncall.noise.quick_silence.QuickSilenceOffers"]
    ref = str(incident.public_id)

    actions = actions_of(card_of(incident))

    assert [(a["tag"], a.get("type")) for a in actions] == [
        ("button", "primary"),
        ("button", "danger"),
        ("select_static", None),
        ("button", "default"),  # the offers' actions (INCIDENT_OFFERS): quick silence
    ]
    assert names_and_values(card_of(incident)) == [
        ("Claim", {"action": "claim", "incident": ref}),
        ("Close", {"action": "close", "incident": ref}),
        ("Snooze", {"action": "snooze", "incident": ref}),
        ("🔕 Quick silence (24 h)", {"action": "offer", "incident": ref, "key": "quick_silence"}),
    ]


@pytest.mark.usefixtures("lifecycle_buttons_only")
def test_it_offers_unclaim_close_and_snooze_on_a_claimed_incident(incident, alice):
    card = card_of(claimed(incident, alice, NOW))

    assert [name for name, _ in names_and_values(card)] == ["Unclaim", "Close", "Snooze"]


@pytest.mark.usefixtures("lifecycle_buttons_only")
def test_it_offers_wake_and_close_on_a_snoozed_incident(incident, alice):
    incident.snoozed_until = NOW + timedelta(hours=2)
    assert [name for name, _ in names_and_values(card_of(incident))] == ["Wake", "Close"]

    claimed(incident, alice, NOW)
    assert [name for name, _ in names_and_values(card_of(incident))] == ["Wake", "Close"]


def test_it_offers_reopen_on_a_closed_incident(incident, alice):
    card = card_of(closed(incident, alice, NOW))

    assert names_and_values(card) == [
        ("Reopen", {"action": "reopen", "incident": str(incident.public_id)})
    ]


def test_it_asks_before_closing(incident):
    close = actions_of(card_of(incident))[1]

    assert close["confirm"]["title"]["content"] == "Close this incident?"


@pytest.mark.usefixtures("lifecycle_buttons_only")
def test_it_puts_only_the_action_and_the_incident_in_button_values(incident, alice):
    states = [
        card_of(incident),
        card_of(claimed(incident, alice, NOW)),
        card_of(closed(incident, alice, NOW)),
    ]

    values = [action["value"] for card in states for action in actions_of(card)]

    assert values
    assert all(set(value) == {"action", "incident"} for value in values)


def test_it_offers_the_snooze_durations_in_a_menu(incident):
    menu = actions_of(card_of(incident))[2]

    assert [(o["value"], o["text"]["content"]) for o in menu["options"]] == [
        ("30m", "30 minutes"),
        ("1h", "1 hour"),
        ("2h", "2 hours"),
        ("4h", "4 hours"),
        ("12h", "12 hours"),
        ("24h", "24 hours"),
    ]


def test_it_offers_no_snooze_longer_than_the_console_allows(incident, settings):
    settings.SNOOZE_MAX_MINUTES = 120

    menu = actions_of(card_of(incident))[2]

    assert [option["value"] for option in menu["options"]] == ["30m", "1h", "2h"]


def test_it_notes_the_incident_number_and_when_it_was_updated(incident):
    incident.updated_at = datetime(2026, 11, 21, 1, 55, tzinfo=UTC)

    note = card_of(incident)["elements"][-1]

    assert note == {
        "tag": "note",
        "elements": [
            {"tag": "plain_text", "content": f"Incident #{incident.number} · updated 09:55"}
        ],
    }


# --- Size --------------------------------------------------------------------------------------


def test_it_cuts_a_huge_description_to_stay_under_30_kb(incident):
    alert = make_alert(incident, description="Disk full. " * 10_000, labels={"host": "db-1"})

    card = card_of(incident, alert)

    assert serialised_size(card) < FEISHU_LIMIT
    assert len(json.dumps(card).encode()) < FEISHU_LIMIT
    text, label = body_of(card).split("\n")
    assert text.startswith("Disk full.")
    assert text.endswith("…")
    assert label == "**host**: db-1"


def test_it_cuts_labels_that_do_not_fit_and_says_how_many(incident):
    labels = {f"label{i:03d}": f"value {i} " + "x" * 200 for i in range(500)}
    alert = make_alert(incident, description="y" * 5000, labels=labels)

    card = card_of(incident, alert)

    assert serialised_size(card) < FEISHU_LIMIT
    lines = body_of(card).split("\n")
    shown = [line for line in lines if line.startswith("**label")]
    hidden = re.fullmatch(r"…(\d+) more lines", lines[-1])
    assert hidden is not None
    assert len(shown) + int(hidden.group(1)) == 500
    assert shown[0].startswith("**label000**: value 0 ")


def test_it_keeps_a_card_of_escaped_and_wide_characters_under_30_kb(incident):
    labels = {f"标签{i}": "<" * 300 + "告警" * 200 for i in range(200)}
    alert = make_alert(incident, description="磁盘已满 <at id=all></at> " * 5000, labels=labels)

    card = card_of(incident, alert)

    assert len(json.dumps(card).encode()) < FEISHU_LIMIT
    assert body_of(card).split("\n")[-1].endswith("more lines")


# --- Fingerprint -------------------------------------------------------------------------------


def test_it_fingerprints_equal_cards_alike_and_changed_cards_differently(incident, alice):
    card = card_of(incident)
    reordered = json.loads(json.dumps(card, sort_keys=True))

    assert card_fingerprint(card) == card_fingerprint(reordered)
    assert card_fingerprint(card) == card_fingerprint(card_of(incident))
    assert card_fingerprint(card) != card_fingerprint(card_of(claimed(incident, alice, NOW)))
    assert re.fullmatch(r"[0-9a-f]{64}", card_fingerprint(card))


# --- Reading -----------------------------------------------------------------------------------


def test_it_needs_no_query_when_given_the_alerts_notes_and_changes(
    incident, alice, django_assert_num_queries
):
    alert = make_alert(incident, labels={"host": "db-1"})
    claimed(incident, alice, NOW)
    war_rooms.apps_in_use()  # the count of apps with war rooms, read once and kept
    dingtalk_war_rooms.apps_in_use()  # and DingTalk's (apps with a group template)

    with django_assert_num_queries(0):
        incident_card(incident, alerts=[alert], notes=[], changes=[], now=NOW)


def test_it_reads_the_alerts_notes_and_changes_itself_in_one_query_each(
    incident, django_assert_num_queries
):
    make_alert(incident, description="second", first_seen=NOW - timedelta(minutes=3))
    make_alert(
        incident,
        description="first",
        first_seen=NOW - timedelta(minutes=30),
        status=Alert.Status.RESOLVED,
    )
    for _ in range(5):
        make_alert(incident, first_seen=NOW - timedelta(minutes=10))
    war_rooms.apps_in_use()  # the count of apps with war rooms, read once and kept
    dingtalk_war_rooms.apps_in_use()  # and DingTalk's (apps with a group template)

    with django_assert_num_queries(3):
        card = incident_card(incident, now=NOW)

    assert fields_of(card)["Alerts"] == "6 firing / 7 total"
    assert fields_of(card)["First seen"] == "09:30"
    assert body_of(card).startswith("first")


def test_a_stored_incident_without_alerts_shows_none(incident, django_assert_num_queries):
    war_rooms.apps_in_use()  # the count of apps with war rooms, read once and kept
    dingtalk_war_rooms.apps_in_use()  # and DingTalk's (apps with a group template)
    with django_assert_num_queries(3):  # its alerts, its notes, the changes before it
        card = incident_card(incident, now=NOW)

    assert fields_of(card)["Alerts"] == "0 firing / 0 total"


def test_it_builds_the_card_of_an_incident_that_is_not_stored():
    incident = Incident(
        number=0, title="Test card", severity="info", channel=Channel(name="Test"), created_at=NOW
    )

    card = incident_card(incident, now=NOW)

    assert card["header"]["title"]["content"] == "#0 Test card"
    assert fields_of(card)["Alerts"] == "0 firing / 0 total"


# --- What the Feishu client draws --------------------------------------------------------------


def test_the_sandbox_client_draws_every_state_without_unsupported_elements(incident, alice):
    alert = make_alert(incident, labels={"resource": "db-1", "body_text": "Disk is full"})
    click = ClickForm(url="/sandbox/click", csrf_token="token")
    snoozed = IncidentFactory(snoozed_until=NOW + timedelta(hours=1))
    cards = [
        card_of(incident, alert),
        card_of(snoozed),
        card_of(IncidentFactory(status="acknowledged", claimed_by=alice, claimed_at=NOW)),
        card_of(IncidentFactory(status="closed", closed_at=NOW)),
    ]

    for card in cards:
        html = str(render_card(json.dumps(card), click=click))
        assert "Unsupported element" not in html
        assert "cannot be shown" not in html
        assert 'class="card-header card-template-' in html
        assert "<button" in html

    first = str(render_card(json.dumps(cards[0]), click=click))
    assert "Disk is full" in first
    assert "Open in console" in first
    assert f"https://oncall.example.com/incidents/{incident.public_id}/" in first
    assert 'class="card-select"' in first
