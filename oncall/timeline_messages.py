"""What a timeline entry says, stored as a message kind plus parameters and put into words
when someone reads it, in the reader's language (a page's, an API request's, a card's).

The kinds are :data:`MESSAGES`, plus each chat platform's own
(``ChatPlatform.timeline_messages``, keys prefixed with the platform's name).

A writer hands ``oncall.timeline.record`` a :class:`Phrase` instead of a finished sentence.
The entry keeps the phrase (``message_kind``, ``params``) and, in its ``message`` column, the
phrase in English: exports, search, the outgoing webhooks' ``detail.message`` and the admin's
list read one stable text whatever language the writer's request had.

Entries written before phrases existed, and any whose kind a later version no longer knows,
show their stored ``message`` as it is (:func:`render_entry`).

A parameter is a plain value (names, numbers, titles: inserted as given, so pages escape them
like any text), a nested phrase (``{"kind": ..., "params": ...}``, put into words in the same
language) or a list of such values (joined with the language's list separator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# The registry: every message kind a writer may store, with its sentence. Keys are stable
# identifiers (stored in rows): rename one only with a data migration. Placeholders are named,
# so that a translation may order them as its language needs.
MESSAGES: dict[str, Promise] = {
    # Who acted, when it was the console itself (``ActionSource``'s labels)
    "actor.web": _("web"),
    "actor.api": _("API"),
    "actor.integration": _("alert source"),
    "actor.system": _("system"),
    # Opening
    "created.by_person": _("Opened by %(actor)s"),
    "created.by_source": _("Incident opened by %(source)s"),
    "created.split": _("Opened by %(actor)s by splitting the alert “%(alert)s” out of #%(number)s"),
    # Alerts (``oncall.merge``)
    "alert.added": _("Alert added: %(title)s"),
    "alert.refired": _("Alert firing again: %(title)s"),
    "alert.recovered": _("Alert recovered: %(title)s"),
    # Responders' changes (``oncall.lifecycle``)
    "claimed": _("Claimed by %(actor)s"),
    "acknowledged": _("Acknowledged by %(actor)s"),
    "unclaimed": _("Unclaimed by %(actor)s (was %(previous)s)"),
    "closed": _("Closed by %(actor)s"),
    "closed.reason": _("Closed by %(actor)s: %(reason)s"),
    "reopened": _("Reopened by %(actor)s"),
    "snoozed": _("Snoozed by %(actor)s for %(duration)s"),
    "woken": _("Woken by %(actor)s"),
    "woken.snooze_ended": _("Snooze ended"),
    "note": _("Note by %(actor)s"),
    "assigned.person": _("Assigned to %(person)s by %(actor)s%(released)s; %(notified)s"),
    "assigned.level": _(
        "Assigned to level %(level)s of “%(rule)s” by %(actor)s%(released)s; %(notified)s"
    ),
    "released.claim": _(" (claim by %(previous)s released)"),
    "released.acknowledgement": _(" (acknowledgement by %(previous)s released)"),
    "merged_into": _("Merged into #%(number)s by %(actor)s (%(moved)s)"),
    "merged": _("%(numbers)s merged into this incident by %(actor)s (%(moved)s)"),
    "moved.one": _("%(count)s alert moved"),
    "moved.many": _("%(count)s alerts moved"),
    "split": _("Alert “%(alert)s” split out into #%(number)s by %(actor)s"),
    # Notifications and escalation (``oncall.lifecycle``, ``oncall.escalation``)
    "paged": _("Paged by %(actor)s: %(notified)s"),
    "notified": _("notified %(people)s"),
    "notified.unreachable": _("notified %(people)s; not reachable: %(unreachable)s"),
    # A person a platform told outside a level; ``platform``: its label ("Bob Li (Feishu)")
    "notified.via": _("%(name)s (%(platform)s)"),
    "nobody": pgettext_lazy("notified nobody", "nobody"),
    "level": _("Level %(level)s%(repeat)s%(round)s: %(notified)s."),
    "level.repeat": _(" (repeat %(count)s)"),
    "level.round": _(", round %(count)s"),
    "escalation.no_rule": _("No escalation rule of the channel matches: nobody is notified."),
    "escalation.finished": _("Escalation finished: every level of “%(rule)s” was notified."),
    "template_failed": _(
        "The notification template %(template)s could not be rendered (%(reason)s); the "
        "built-in template was used instead."
    ),
    # Custom actions (``oncall.custom_actions.runs``); the error is the call's own words
    "action.not_called": _("%(action)s by %(actor)s was not called: %(error)s"),
    "action.lost": _("%(action)s called by %(actor)s: %(error)s"),
    "action.failed": _("%(action)s called by %(actor)s: failed, %(error)s"),
    "action.answered": _("%(action)s called by %(actor)s: %(answer)s"),
    # Durations inside other phrases (a snooze's)
    "duration.hours_minutes": _("%(hours)s h %(minutes)s min"),
    "duration.hours": _("%(hours)s h"),
    "duration.minutes": _("%(minutes)s min"),
    # Chat platforms (a war room, an account linked late)
    "war_room.requested": _("War room requested by %(actor)s."),
    "war_room.opened": _("War room “%(chat)s” opened; invited %(people)s."),
    "war_room.invited": _("Invited to the war room: %(people)s."),
    "invited.refused": _("%(people)s; not invited: %(refused)s"),
    "war_room.failed": _("War room not opened: %(reason)s"),
    # Why a schedule reached a person (``oncall.schedules.targets``): "Alice (on call: SRE)"
    "reached_as": _("%(name)s (%(reasons)s)"),
    "reached_as.more": pgettext_lazy("reasons a schedule reached someone", "%(first)s; %(rest)s"),
    "reached_as.on_call": _("on call: %(schedules)s"),
    "reached_as.next_on_call": _("next on call: %(schedule)s, from %(day)s %(time)s"),
    # Days of the week, Monday first (a shift's start in a reason above)
    **{f"weekday.{day}": name for day, name in WEEKDAYS_ABBR.items()},
    # Noise reduction (``oncall.noise``): storms, flapping, maintenance, quick silences
    "storm": _("Alert storm: %(count)s alerts%(again)s%(unreachable)s."),
    "storm.level_again": _("; level %(level)s notified again: %(people)s"),
    "storm.again": _("; notified again: %(people)s"),
    "storm.unreachable": _("; not reachable: %(people)s"),
    "flapping": _("Flapping: “%(title)s” triggered %(count)s times within %(minutes)s minutes."),
    "flapping.quiet": _(
        "Flapping: “%(title)s” triggered %(count)s times within %(minutes)s minutes; "
        "notifications stopped."
    ),
    "flapping.ended": _(
        "Flapping ended: no alert triggered more than %(count)s times within %(minutes)s minutes."
    ),
    "flapping.ended.quiet": _(
        "Flapping ended: no alert triggered more than %(count)s times within %(minutes)s "
        "minutes; notifications resume."
    ),
    "maintenance.hold": _(
        "Maintenance “%(name)s” until %(end)s: notifications wait until it ends."
    ),
    "maintenance.opened": _(
        "Opened during maintenance “%(name)s” (until %(end)s): nobody is notified before it ends."
    ),
    "silenced": _("Alerts like this one silenced until %(end)s."),
    # Why a person was not reached (a level report's "not reachable" names; each platform
    # words its own reasons)
    "unreachable.no_platform": _("%(name)s (no chat platform can reach them)"),
    "unreachable.nobody_on_call": _(
        "%(schedule)s (schedule: nobody on call now or in the next %(days)s days)"
    ),
    "account_linked": _(
        "%(person)s linked their account in %(app)s: their card is sent now, once."
    ),
    # What the chat platforms reported on a shift-start notice (``ShiftNotice.outcome_kind``)
    "shift_notice.sent": _("Sent to %(people)s."),
    "shift_notice.unreachable": _("Not reachable: %(unreachable)s."),
    "shift_notice.sent_unreachable": _("Sent to %(people)s. Not reachable: %(unreachable)s."),
    "shift_notice.nobody": _("No chat platform could reach this person."),
}

# Joins a list parameter's items ("Alice, Bob"; Chinese lists take "、").
LIST_SEPARATOR = pgettext_lazy("list separator", ", ")


@dataclass(frozen=True)
class Phrase:
    """One registered message kind with its parameters; ``str()`` says it in the active
    language. A platform's phrase carries its ``template`` (from its own
    ``timeline_messages``): writing it never depends on which platforms are installed."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    template: Promise | str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.template is None and self.kind not in MESSAGES:
            # A writer's typo fails its tests, not a reader's page.
            raise KeyError(f"unknown timeline message kind {self.kind!r}")

    def stored(self) -> dict[str, Any]:
        """The phrase as JSON, for a row or for another phrase's parameter."""
        return {"kind": self.kind, "params": _stored(self.params)}

    def __str__(self) -> str:
        return _format(self.template or MESSAGES[self.kind], self.params)

    def in_language(self, language: str) -> str:
        with translation.override(language):
            return str(self)


def phrase(kind: str, **params: Any) -> Phrase:
    return Phrase(kind, params)


class Worded(str):
    """A phrase that goes where a string goes: it reads as its English words when joined,
    compared or kept in an entry's JSON ``data`` (a level report's "not reachable" names pass
    through code that handles them as text), and as a timeline parameter it keeps the phrase,
    so the entry says it in each reader's language."""

    phrase: Phrase

    def __new__(cls, said: Phrase) -> Worded:
        text = super().__new__(cls, said.in_language("en"))
        text.phrase = said
        return text

    def __getnewargs__(self) -> tuple[Phrase]:  # type: ignore[override]
        return (self.phrase,)  # copied or pickled with its phrase, not as its English


def worded(kind: str, **params: Any) -> Worded:
    return Worded(phrase(kind, **params))


def people(names: list[str]) -> list[str] | Phrase:
    """A list of names as a parameter: "nobody" when it is empty."""
    return list(names) if names else phrase("nobody")


def render(kind: str, params: Mapping[str, Any] | None) -> str | None:
    """The message kind in the active language, or None when the kind is not registered."""
    template = _template(kind)
    return None if template is None else _format(template, params or {})


def _format(template: Promise | str, params: Mapping[str, Any]) -> str:
    values = {name: _word(value) for name, value in params.items()}
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        # A translation that names a placeholder the row lacks: say it in English instead.
        with translation.override("en"):
            return str(template) % values


def render_entry(message_kind: str, params: Any, stored_text: str) -> str:
    """What an entry says in the active language; its stored text when it has no (known) kind."""
    if not message_kind:
        return stored_text
    text = render(message_kind, params if isinstance(params, dict) else {})
    return stored_text if text is None else text


def _template(kind: str) -> Promise | str | None:
    """The core's sentence for ``kind``, or the installed chat platform's whose name the kind
    starts with (``ChatPlatform.timeline_messages``: their words stay in their package)."""
    if kind in MESSAGES:
        return MESSAGES[kind]
    from oncall.platforms import platform_named  # it imports this module

    platform = platform_named(kind.split(".", 1)[0]) if "." in kind else None
    if platform is None:
        return None
    if kind == f"{platform.name}.label":  # its name for people (``platforms.label_phrase``)
        return platform.label or platform.name
    return platform.timeline_messages.get(kind)


def _word(value: Any) -> str:
    if isinstance(value, Worded):
        return str(value.phrase)
    if isinstance(value, Phrase):
        return str(value)
    if isinstance(value, dict) and "kind" in value:
        return render(str(value["kind"]), value.get("params") or {}) or ""
    if isinstance(value, list | tuple):
        return str(LIST_SEPARATOR).join(_word(item) for item in value)
    return str(value)


def _stored(value: Any) -> Any:
    if isinstance(value, Worded):
        return value.phrase.stored()
    if isinstance(value, Phrase):
        return value.stored()
    if isinstance(value, Mapping):
        return {str(key): _stored(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_stored(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # a lazy label, a UUID: stored as the words it has now
