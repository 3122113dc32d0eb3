"""The incident card as DingTalk's robot shows it: a ``StandardCard`` (the interactive card
whose JSON is the card, no card-builder template), built again after every change and put into
every sent copy.

* Coloured by severity and state: DingTalk's card header has no colour of its own, so the first
  line is the state in the colour of the incident (red critical, orange warning, blue info;
  green closed, grey snoozed), and the main button takes the matching status.
* The body is the incident's notification template for ``dingtalk_card`` (``body``).
* Buttons ask DingTalk to call back (``actionType: request``); each button's ``id`` is the
  action (``claim``, ``snooze:1h``): the callback finds the incident from the card's own id
  (its outTrackId, a ``DingTalkSentCard``), never from anything a click carries.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from integrations.dingtalk.cards.body import DINGTALK_CARD, escape_markdown
from oncall.durations import snooze_choices
from oncall.events import Severity
from oncall.languages import card_language
from oncall.links import incident_url
from oncall.models import Incident
from oncall.notify.choose import render_for
from oncall.offers import OfferedAction, OfferedLink, incident_offers
from oncall.wording import (
    ONE_CLICK_BUTTONS,
    DisplayState,
    available_actions,
    display_state,
    status_line,
)

MAX_TITLE_CHARS = 120
# Two snooze buttons fit a phone's row next to the others; the web page offers every duration.
SNOOZE_BUTTONS = ("1h", "4h")

SEVERITY_COLOURS = {
    Severity.CRITICAL: "#D9363E",
    Severity.WARNING: "#F5A623",
    Severity.INFO: "#3370FF",
}
STATE_COLOURS = {DisplayState.CLOSED: "#2EA121", DisplayState.SNOOZED: "#8F959E"}


def colour(incident: Incident, state: DisplayState) -> str:
    return STATE_COLOURS.get(state) or SEVERITY_COLOURS.get(incident.severity, "#3370FF")


def incident_card(incident: Incident, *, now: datetime | None = None) -> dict:
    """The card of ``incident`` as it is now, in the card language of its channel (else the
    console's, ``oncall.languages.card_language``): one card for every recipient alike."""
    now = now or timezone.now()
    with translation.override(card_language(incident)):
        state = display_state(incident, now)
        title = f"#{incident.number} {_clip(incident.title, MAX_TITLE_CHARS)}"
        body = render_for(incident, DINGTALK_CARD, now=now).text
        contents: list[dict] = [
            _markdown("state", _state_line(incident, state, now)),
            _markdown("facts", _facts(incident)),
            {"type": "divider", "id": "divider"},
        ]
        if body.strip():
            contents.append(_markdown("body", body))
        offers = incident_offers(incident)  # once for the links line and the buttons
        contents.append(_markdown("link", _links_line(incident, offers.links)))
        buttons = _buttons(incident, state) + _offered_buttons(offers.actions)
        if buttons:
            contents.append({"type": "action", "id": "actions", "actions": buttons})
        return {
            "config": {"autoLayout": True, "enableForward": True},
            "header": {"title": {"type": "text", "text": title}},
            "contents": contents,
        }


def card_fingerprint(card: dict) -> str:
    return hashlib.sha256(json.dumps(card, sort_keys=True).encode()).hexdigest()


def _state_line(incident: Incident, state: DisplayState, now: datetime) -> str:
    words = escape_markdown(f"{incident.get_severity_display()} · {status_line(incident, now)}")
    return f"<font color={colour(incident, state)}>**{words}**</font>"


def _facts(incident: Incident) -> str:
    return "  \n".join(
        [
            f"**{gettext('Channel')}**: {escape_markdown(incident.channel.name)}",
            f"**{gettext('Alerts')}**: {incident.alert_count}",
        ]
    )


def _link(incident: Incident) -> str:
    return incident_url(incident)  # absolute, under PUBLIC_BASE_URL


def _links_line(incident: Incident, offered: list[OfferedLink]) -> str:
    """ "Open in the console", then the links the incident offers (``offered``,
    ``oncall.offers``: a war room, runbooks, dashboards), made absolute for DingTalk."""
    links = [(gettext("Open in the console"), _link(incident))]
    links += [(link.label, _absolute(link.url)) for link in offered]
    return " · ".join(f"[{escape_markdown(label)}]({url})" for label, url in links)


def _absolute(url: str) -> str:
    return settings.PUBLIC_BASE_URL + url if url.startswith("/") else url


def _offered_buttons(offered: list[OfferedAction]) -> list[dict]:
    """The actions the incident offers beyond its lifecycle (``offered``, ``oncall.offers``: a
    war room, the channel's custom actions), each a button whose id names the offer
    (``offer:<key>``). An action that asks for a confirmation first is left to the web page:
    DingTalk's card button has no confirmation step, and a click would run it at once."""
    return [
        _button(f"offer:{action.key}", _offer_label(action))
        for action in offered
        if not action.confirm
    ]


def _offer_label(offered: OfferedAction) -> str:
    return f"{offered.icon} {offered.label}" if offered.icon else offered.label


def _buttons(incident: Incident, state: DisplayState) -> list[dict]:
    """The state's actions (``wording.available_actions``, as the web page offers them)."""
    buttons: list[dict] = []
    for name in available_actions(incident, state):
        if name == "snooze":
            offered = dict(snooze_choices())
            buttons += [
                _button(f"snooze:{value}", gettext("Snooze %(d)s") % {"d": offered[value]})
                for value in SNOOZE_BUTTONS
                if value in offered
            ]
        elif name == "close":
            buttons.append(_button("close", gettext("Close"), status="warning"))
        else:
            label, main = ONE_CLICK_BUTTONS[name]
            buttons.append(_button(name, str(label), status="primary" if main else "normal"))
    return buttons


def _button(action: str, label: str, *, status: str = "normal") -> dict:
    return {
        "type": "button",
        "id": action,
        "label": {"type": "text", "text": label, "id": f"{action}-label"},
        "actionType": "request",
        "status": status,
    }


def _markdown(element_id: str, text: str) -> dict:
    return {"type": "markdown", "text": text, "id": element_id}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
