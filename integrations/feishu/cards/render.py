"""The incident card: one Feishu message card (JSON 1.0) with an incident's state and the
buttons that act on it, built again after every change and patched into every sent copy.

* ``config.update_multi`` is on: Feishu updates a sent card only when it is shared (FEISHU.md,
  "update card").
* The body is the incident's notification template for the ``feishu_card`` medium
  (``body.py``; by default the knowledge base's: the first alert's ``body_text`` label, else
  its description, the ``resource`` label, then every other label). Everything an alert or a
  person wrote is escaped for lark_md, so an alert cannot mention people or show a link of
  its own.
* Buttons carry ``{"action": ..., "incident": <public id>}`` and nothing else: the callback looks
  the incident up and checks who clicked; nothing in a value is trusted or secret.
* Feishu refuses cards over 30 KB: the body is cut to fit, visibly.
* Responders' notes show as their count and the latest one (its first lines, escaped like
  everything else: a note cannot mention people or hide a link either). Adding, editing or
  deleting a note is announced like any change, which makes the stored card stale
  (``render_cache``) and updates every sent copy.

* Alert images the body places (``transferImage``) are uploaded by the app that sends the
  card and shown as ``img`` elements (``images``); the rest of the card is the same.

``incident_card`` reads the incident, its alerts and its notes, and writes nothing unless the
incident's custom template fails (``oncall.notify.choose`` records that once, and the
built-in body is shown) or it uploads an image (its key, ``UploadedImage``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from integrations.feishu.cards.alert_summary import AlertSummary, alert_links, summarise
from integrations.feishu.cards.body import (
    FEISHU_CARD,
    IMAGE_ELEMENT_COST,
    escape_lark_md,
    fit,
    pieces,
    split_images,
)
from integrations.feishu.cards.images import CardImages
from integrations.feishu.models import FeishuApp
from oncall.changes import changes_before
from oncall.durations import snooze_choices
from oncall.events import Severity
from oncall.languages import card_language
from oncall.links import absolute_url, incident_url
from oncall.models import Alert, ChangeEvent, Incident, IncidentNote
from oncall.notify.choose import render_for
from oncall.offers import OfferedAction, OfferedLink, incident_offers
from oncall.timeline import display_name
from oncall.wording import (
    ONE_CLICK_BUTTONS,
    DisplayState,
    available_actions,
    display_state,
    moment,
    status_line,
)

# Feishu's limit is 30 KB (code 230025). The budget keeps a margin and is measured on the
# ASCII-escaped JSON, the larger of the two forms a client may send (\uXXXX is 6 bytes where
# UTF-8 needs 3), so the card fits however it is serialised.
CARD_BUDGET_BYTES = 28 * 1024

MAX_TITLE_CHARS = 120
ELLIPSIS = "…"
# A card summarises; the incident page has the whole text.
MAX_NOTE_CHARS = 300
MAX_NOTE_LINES = 4
# Changes before the incident on a card: a hint of what to look at; the page lists them all.
MAX_CHANGES_ON_CARD = 5
MAX_CHANGE_TITLE_CHARS = 100

_SEVERITY_COLOURS = {Severity.CRITICAL: "red", Severity.WARNING: "orange", Severity.INFO: "blue"}
_STATE_COLOURS = {DisplayState.CLOSED: "green", DisplayState.SNOOZED: "grey"}

# Where the body goes among the card's elements (after the fields and a rule).
_BODY_INDEX = 2


def incident_card(
    incident: Incident,
    *,
    alerts: Sequence[Alert] | None = None,
    notes: Sequence[IncidentNote] | None = None,
    changes: Sequence[ChangeEvent] | None = None,
    now: datetime | None = None,
    app: FeishuApp | None = None,
    upload_images: bool = True,
    images: CardImages | None = None,
) -> dict:
    """The card of ``incident`` as it is now: a dict ready to be sent as ``interactive``
    content. ``alerts`` and ``notes`` (all of the incident's) and ``changes`` (the core's
    ``changes_before``) save the queries when the caller has them; ``now`` decides what counts
    as snoozed and as today; ``app``, the app that sends it, uploads the images the body shows
    (without one, the card shows none; with ``upload_images`` off, only those it uploaded
    before); ``images``, the uploader to use instead (its caller learns whether the body asked
    for any image).

    One card is read by every recipient alike: it is written in the card language of the
    incident's channel or of ``app`` (``FeishuApp.language_for``), not in the language of
    whoever's click or page made it change."""
    language = app.language_for(incident) if app else card_language(incident)
    with translation.override(language):
        return _incident_card(
            incident,
            alerts=alerts,
            notes=notes,
            changes=changes,
            now=now,
            images=images or CardImages(app, upload=upload_images),
        )


def console_url(url: str, app: FeishuApp | None) -> str:
    """``url`` as a card links it. A console page (a site-relative path, or an address under
    ``PUBLIC_BASE_URL``) goes through ``app``'s web entry, which signs the person in with
    Feishu (no typing inside Feishu) and then opens the page; the entry takes only a
    same-site path as ``next``. Another site's address stays as it is."""
    base = settings.PUBLIC_BASE_URL
    path = url[len(base) :] if base and url.startswith(f"{base}/") else url
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return url
    return app.web_entry_url(path) if app is not None else absolute_url(path)


def console_link(incident: Incident, app: FeishuApp | None) -> str:
    """The incident's page, as a card links it (``console_url``)."""
    return console_url(incident_url(incident), app)


def _incident_card(
    incident: Incident,
    *,
    alerts: Sequence[Alert] | None,
    notes: Sequence[IncidentNote] | None,
    changes: Sequence[ChangeEvent] | None,
    now: datetime | None,
    images: CardImages,
) -> dict:
    now = now or timezone.now()
    app = images.app
    summary = summarise(incident, alerts)
    notes_shown = _notes_element(_notes_summary(incident, notes), now)
    changes_shown = _changes_element(
        changes if changes is not None else changes_before(incident), now
    )
    state = display_state(incident, now)
    offers = incident_offers(incident)  # once for the links line and the buttons
    card = {
        "config": {"update_multi": True, "wide_screen_mode": True},
        "header": {
            "template": _header_colour(incident, state),
            "title": _plain(f"#{incident.number} {_clip(incident.title, MAX_TITLE_CHARS)}"),
        },
        "elements": [
            {"tag": "div", "fields": _fields(incident, summary, now)},
            {"tag": "hr"},
            _lark_md_div(""),  # _BODY_INDEX: the body, once the rest of the card is measured
            *_merged_into(incident, app),
            *_noise_badges(incident),
            *notes_shown,
            *changes_shown,
            _lark_md_div(_links_line(incident, app, offers.links, alert_links(summary.first))),
            *_action_row(incident, state, offers.actions),
            {"tag": "note", "elements": [_plain(_note(incident, now))]},
        ],
    }
    _fill_body(card, incident, alerts, summary.first, now, images)
    return card


def _links_line(
    incident: Incident,
    app: FeishuApp | None,
    offered: list[OfferedLink],
    of_alert: list[tuple[str, str]],
) -> str:
    """ "Open in console", the links the incident offers (``offered``, ``oncall.offers``) and
    those of the alert the body shows (runbook, source, dashboard), on one line; those into
    the console through the app's web entry (``console_url``), the others as they are."""
    links = [(gettext("Open in console"), console_link(incident, app))]
    links += [(link.label, console_url(link.url, app)) for link in offered]
    links += [(text, console_url(href, app)) for text, href in of_alert]
    return " · ".join(f"[{_md_text(label)}]({url})" for label, url in links)


def _md_text(text: str) -> str:
    # A label inside [...] must not close the bracket or start another link.
    return _one_line(text).replace("[", "(").replace("]", ")")


def _merged_into(incident: Incident, app: FeishuApp | None) -> list[dict]:
    """A merged incident's card says where its alerts went, and links there."""
    if incident.merged_into_id is None:
        return []
    target = incident.merged_into
    title = escape_lark_md(_one_line(_clip(target.title, MAX_TITLE_CHARS)))
    text = gettext("Merged into %(link)s: its alerts are handled there.") % {
        "link": f"[#{target.number} {title}]({console_link(target, app)})"
    }
    return [_lark_md_div(f"**{text}**")]


def _noise_badges(incident: Incident) -> list[dict]:
    """One line of the badges noise reduction gave the incident (flapping, alert storm)."""
    badges = []
    if incident.is_flapping:
        badges.append(gettext("Flapping"))
    if incident.is_storm:
        badges.append(gettext("Alert storm: %(count)s alerts") % {"count": incident.alert_count})
    return [_lark_md_div("⚠️ " + " · ".join(f"**{b}**" for b in badges))] if badges else []


def card_fingerprint(card: dict) -> str:
    """A digest of the card's content: equal digests mean an update would change nothing."""
    canonical = json.dumps(card, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def card_size(card: dict) -> int:
    """The card's size in bytes as the budget counts it (ASCII-escaped JSON)."""
    return len(json.dumps(card).encode())


# --- Notes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NotesSummary:
    total: int
    latest: IncidentNote | None  # with ``author_name`` set


def _notes_summary(incident: Incident, notes: Sequence[IncidentNote] | None) -> _NotesSummary:
    if notes is not None:
        latest = max(notes, key=lambda n: (n.created_at, n.pk or 0), default=None)
        if latest is not None:
            latest.author_name = _author_name(latest.author if latest.author_id else None)
        return _NotesSummary(len(notes), latest)
    if incident.pk is None:  # an example incident (the admin's test card)
        return _NotesSummary(0, None)
    latest = next(iter(IncidentNote.objects.raw(_latest_note_sql(), [incident.pk] * 2)), None)
    if latest is None:
        return _NotesSummary(0, None)
    author = None
    if latest.author_id:
        author = get_user_model()(
            first_name=latest.author_first_name,
            last_name=latest.author_last_name,
            username=latest.author_username,
        )
    latest.author_name = _author_name(author)
    return _NotesSummary(latest.notes_total, latest)


def _author_name(author: Any) -> str:
    return display_name(author) if author is not None else "a deleted user"


@lru_cache(maxsize=1)
def _latest_note_sql() -> str:
    """The latest note with its author's names, and the count of all, in one query written in
    SQL (as ``_summary_sql``, and for the same reason: Django's compiling a join with a window
    or subquery costs more CPU than running it). The top note comes from the (incident,
    created_at, id) index read backwards; the count from the same index."""
    quote = connection.ops.quote_name
    notes, users = quote(IncidentNote._meta.db_table), quote(get_user_model()._meta.db_table)

    def column(model: Any, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    incident, author = column(IncidentNote, "incident"), column(IncidentNote, "author")
    user = get_user_model()
    # Names from the models, quoted; the values are parameters.
    return (
        f"SELECT n.*, u.{column(user, 'first_name')} AS author_first_name, "  # noqa: S608
        f"u.{column(user, 'last_name')} AS author_last_name, "
        f"u.{column(user, 'username')} AS author_username, "
        f"(SELECT COUNT(*) FROM {notes} c WHERE c.{incident} = %s) AS notes_total "
        f"FROM {notes} n LEFT JOIN {users} u ON u.{column(user, 'id')} = n.{author} "
        f"WHERE n.{incident} = %s "
        f"ORDER BY n.{column(IncidentNote, 'created_at')} DESC, "
        f"n.{column(IncidentNote, 'id')} DESC LIMIT 1"
    )


def _notes_element(notes: _NotesSummary, now: datetime) -> list[dict]:
    """The latest note under a heading with the count, or nothing when there is none."""
    latest = notes.latest
    if latest is None:
        return []
    author = latest.author_name
    heading = "**Latest note**" if notes.total == 1 else f"**Latest of {notes.total} notes**"
    byline = escape_lark_md(f"{author}, {moment(latest.created_at, now)}")
    return [_lark_md_div(f"{heading} · {byline}\n{escape_lark_md(_note_excerpt(latest.body))}")]


def _note_excerpt(body: str) -> str:
    lines = [line for line in body.splitlines() if line.strip()]
    excerpt = "\n".join(lines[:MAX_NOTE_LINES])
    if len(lines) > MAX_NOTE_LINES:
        excerpt += f"\n{ELLIPSIS}"
    return _clip(excerpt, MAX_NOTE_CHARS)


# --- Changes -------------------------------------------------------------------------------


def _changes_element(changes: Sequence[ChangeEvent], now: datetime) -> list[dict]:
    """The changes under way just before the incident opened (``oncall.changes``): the first
    few, each its status, title (a link to the change when it has one) and time."""
    if not changes:
        return []
    heading = gettext("Changes before this incident")
    lines = [f"**{escape_lark_md(heading)}** ({len(changes)})"]
    lines += [_change_line(change, now) for change in changes[:MAX_CHANGES_ON_CARD]]
    if len(changes) > MAX_CHANGES_ON_CARD:
        lines.append(f"{ELLIPSIS}{len(changes) - MAX_CHANGES_ON_CARD} more")
    return [_lark_md_div("\n".join(lines))]


def _change_line(change: ChangeEvent, now: datetime) -> str:
    title = escape_lark_md(_one_line(_clip(change.title, MAX_CHANGE_TITLE_CHARS)))
    if change.link.lower().startswith(("https://", "http://")):
        # Checked again, as the page does (an href is executable); a parenthesis would end it.
        title = f"[{title}]({change.link.replace(')', '%29')})"
    status = escape_lark_md(str(change.get_status_display()))
    return f"- {status} · {title} · {escape_lark_md(moment(change.changed_at, now))}"


# --- Header, fields, note ------------------------------------------------------------------


def _header_colour(incident: Incident, state: DisplayState) -> str:
    if state in _STATE_COLOURS:
        return _STATE_COLOURS[state]
    return _SEVERITY_COLOURS.get(incident.severity, "blue")


def _fields(incident: Incident, summary: AlertSummary, now: datetime) -> list[dict]:
    first_seen = summary.first_seen or incident.created_at
    last_seen = summary.last_seen or incident.last_alert_at or first_seen
    alerts = gettext("%(firing)s firing / %(total)s total") % {
        "firing": summary.firing,
        "total": summary.total,
    }
    if incident.merged_into_id is not None:
        alerts = gettext("moved to #%(number)s") % {"number": incident.merged_into.number}
    fields = [
        _field(pgettext("card field", "Channel"), incident.channel.name),
        _field(pgettext("card field", "Status"), status_line(incident, now)),
        _field(pgettext("card field", "Severity"), incident.get_severity_display()),
        _field(pgettext("card field", "Alerts"), alerts),
        _field(pgettext("card field", "First seen"), moment(first_seen, now)),
        _field(pgettext("card field", "Last seen"), moment(last_seen, now)),
    ]
    if incident.assigned_to_id is not None:
        # Whoever the card reaches knows who holds the incident (``lifecycle.assign_person``).
        fields.append(
            _field(pgettext("card field", "Assigned to"), display_name(incident.assigned_to))
        )
    if incident.in_maintenance:
        # Opened in a maintenance window (``oncall.noise.maintenance``): why nobody was paged.
        fields.append(_field(gettext("Maintenance"), gettext("opened during maintenance")))
    return fields


def _field(name: str, value: str) -> dict:
    return {"is_short": True, "text": _lark_md(f"**{name}**\n{escape_lark_md(value)}")}


def _note(incident: Incident, now: datetime) -> str:
    return gettext("Incident #%(number)s · updated %(when)s") % {
        "number": incident.number,
        "when": moment(incident.updated_at or now, now),
    }


# --- Buttons -------------------------------------------------------------------------------


def _action_row(
    incident: Incident, state: DisplayState, offered: list[OfferedAction]
) -> list[dict]:
    """The buttons' row, left out when the incident offers no action (a merged one offers
    none) rather than sent as an empty row."""
    actions = _actions(incident, state, offered)
    return [{"tag": "action", "actions": actions}] if actions else []


def _actions(incident: Incident, state: DisplayState, offered: list[OfferedAction]) -> list[dict]:
    """The state's actions (``wording.available_actions``, the same the web page offers), as
    buttons, then the actions the incident offers (``offered``, ``oncall.offers``)."""
    ref = str(incident.public_id)
    elements: list[dict] = []
    for name in available_actions(incident, state):
        if name == "snooze":
            elements += _snooze_menu(ref)
        elif name == "close":
            elements.append(_close_button(ref))
        else:
            elements.append(_one_click(name, ref))
    # ``oncall.offers`` offers nothing on a merged incident.
    elements += [_offered_button(action, ref) for action in offered]
    return elements


def _offered_button(offered: OfferedAction, ref: str) -> dict:
    """An action the incident offers beyond its lifecycle (``oncall.offers``): its click names
    the offer's key, and Feishu asks first when the action wants a confirmation."""
    label = f"{offered.icon} {offered.label}" if offered.icon else offered.label
    button = _button(label, "offer", ref, kind=_OFFER_KINDS.get(offered.style, "default"))
    button["value"]["key"] = offered.key
    if offered.confirm:
        button["confirm"] = {"title": _plain(offered.label), "text": _plain(offered.confirm)}
    return button


_OFFER_KINDS = {"primary": "primary", "danger": "danger"}


def _one_click(action: str, ref: str) -> dict:
    label, main = ONE_CLICK_BUTTONS[action]
    return _button(str(label), action, ref, kind="primary" if main else "default")


def _button(label: str, action: str, ref: str, *, kind: str = "default") -> dict:
    return {
        "tag": "button",
        "text": _plain(label),
        "type": kind,
        "value": {"action": action, "incident": ref},
    }


def _close_button(ref: str) -> dict:
    button = _button(pgettext("card button", "Close"), "close", ref, kind="danger")
    # Closing stops escalation for everyone: Feishu asks before it sends the click.
    button["confirm"] = {
        "title": _plain(gettext("Close this incident?")),
        "text": _plain(gettext("Escalation stops and every copy of this card shows it closed.")),
    }
    return button


def _snooze_menu(ref: str) -> list[dict]:
    """The snooze menu: what every surface offers (``snooze_choices``). The callback receives
    the chosen value as ``action.option``."""
    options = [{"text": _plain(label), "value": value} for value, label in snooze_choices()]
    if not options:
        return []
    return [
        {
            "tag": "select_static",
            "placeholder": _plain(pgettext("card button", "Snooze")),
            "options": options,
            "value": {"action": "snooze", "incident": ref},
        }
    ]


# --- Body ----------------------------------------------------------------------------------


def _fill_body(
    card: dict,
    incident: Incident,
    alerts: Sequence[Alert] | None,
    first: Alert | None,
    now: datetime,
    images: CardImages,
) -> None:
    """Put the template's body into the card's placeholder, fitted to the room the rest
    leaves; drop the placeholder when there is nothing to show (Feishu refuses empty text).

    The body's text goes in lark_md ``div`` elements, as it always has; an image the template
    placed (``![alt](key)``, the key ``transferImage`` returned) becomes an ``img`` element
    where it stands, splitting the text around it (lark_md in a ``div`` shows no image)."""
    room = CARD_BUDGET_BYTES - card_size(card)
    if incident.pk is None or (alerts is None and first is None):
        alerts = alerts or []  # nothing stored (the admin's test card), or no alert at all

    def render_body(*, again: bool = False) -> str:
        return render_for(
            incident,
            FEISHU_CARD,
            alerts=alerts,
            first=first,
            now=now,
            upload=images.lookup,
            record=not again,
        ).text

    text = render_body()
    if images.upload_wanted():
        text = render_body(again=True)  # with the keys just uploaded
    text, shown = split_images(text, images.shown)
    room -= sum(IMAGE_ELEMENT_COST + len(json.dumps(shown_image)) for shown_image in shown)
    elements = [
        _image(*shown[piece]) if isinstance(piece, int) else _lark_md_div(piece)
        for piece in pieces(fit(text, room))
    ]
    card["elements"][_BODY_INDEX : _BODY_INDEX + 1] = elements


def _image(key: str, alt: str) -> dict:
    # Feishu shows ``alt`` on hover and to screen readers; an image without one still says so.
    return {"tag": "img", "img_key": key, "alt": _plain(alt or gettext("Image"))}


# --- Small pieces --------------------------------------------------------------------------


def _plain(content: str) -> dict:
    return {"tag": "plain_text", "content": content}


def _lark_md(content: str) -> dict:
    return {"tag": "lark_md", "content": content}


def _lark_md_div(content: str) -> dict:
    return {"tag": "div", "text": _lark_md(content)}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _one_line(text: str) -> str:
    # A label is one line: a value with line breaks could pass for more labels.
    return " ".join(text.splitlines())
