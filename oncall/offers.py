"""What an incident offers beyond its lifecycle buttons: links and actions, from providers.

Claim, close, snooze and the other lifecycle transitions are the same on every surface and live
in ``oncall.lifecycle``. Around them an incident offers more, and who offers it varies:

* **links**: the channel's link integrations (a Grafana dashboard for ``labels.service``), the
  alerts' runbooks, a war room a chat platform opened for it;
* **actions**: the channel's custom actions (roll back a release), quick silence, "open a war
  room" on a platform that has war rooms.

Each of those is an :class:`OfferProvider`: the core's own are named by dotted path in
``settings.INCIDENT_OFFERS``, a chat platform's come from its ``offer_providers()``
(``oncall.platforms``: Feishu's war rooms). This module gathers them so the incident page, the
REST API and every platform's card show the same list without knowing who offers what, and so a
click on any surface runs an action through one function, :func:`run_action`, which checks the
actor may act on the incident's channel and validates the action's options before the provider
runs it. What holds for every provider is decided here, once: a merged incident (closed, its
alerts moved to another) offers nothing, and the people an action takes are the channel's
active members (:func:`eligible_people`).

An action's ``key`` is stable and short (``"action:7"``, ``"quick_silence"``, ``"war_room"``):
cards carry it in their button values, pages in a form field, the API in its path. A provider
answers only for the keys it offered; the first provider that knows a key runs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from oncall.permissions import can_act_on_channel

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from oncall.models import Incident
    from oncall.timeline import Actor


@dataclass(frozen=True)
class OfferedLink:
    """A link shown with the incident. ``url`` is absolute or site-relative; a surface that
    needs absolute URLs (a card) makes it so."""

    key: str
    label: str
    url: str


@dataclass(frozen=True)
class OfferedAction:
    """A button beside the lifecycle ones. ``style`` is ``"default"``, ``"primary"`` or
    ``"danger"``; ``confirm`` is the question asked before running it, or empty to run at once.
    ``colour`` and ``icon`` are hints a surface may use (``"#d83931"``, an emoji).
    ``takes_people``: whoever runs it may name people it concerns (a war room's members): the
    page asks (:func:`eligible_people`), the API takes ``people``; a card runs it without."""

    key: str
    label: str
    style: str = "default"
    confirm: str = ""
    colour: str = ""
    icon: str = ""
    takes_people: bool = False


@dataclass(frozen=True)
class ActionResult:
    """What running an action did, in words for the person who clicked (``message``), and a
    link to follow where the action made one (a war room)."""

    ok: bool
    message: str
    url: str = ""


class UnknownAction(LookupError):
    """No provider offers this action for this incident (removed, or not for its channel)."""


class InvalidOptions(ValueError):
    """The options given with an action are not acceptable (``field``: which one, ``message``:
    why, in words for whoever gave them). Nothing ran."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(message)


@runtime_checkable
class OfferProvider(Protocol):
    def links(self, incident: Incident) -> list[OfferedLink]: ...

    def actions(self, incident: Incident) -> list[OfferedAction]: ...

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        """Run the action ``key`` for ``actor`` and return its result, or None when this
        provider does not know ``key`` (the next provider is asked). The caller has checked
        that the actor may act on the incident's channel and the people it names. ``options``:
        what the surface collected for the action (see :func:`run_action`), empty when
        nothing. A provider refuses options by its own rules with :class:`InvalidOptions`,
        before it does anything; every surface says why."""
        ...


def providers() -> tuple[OfferProvider, ...]:
    """The providers in ``settings.INCIDENT_OFFERS`` order (built once per value of the
    setting: a test's override takes effect), then each chat platform's, in
    ``settings.CHAT_PLATFORMS`` order."""
    from oncall.platforms import platforms  # the platforms module imports the models

    own = _build(tuple(getattr(settings, "INCIDENT_OFFERS", ())))
    return own + tuple(_checked(p) for platform in platforms() for p in platform.offer_providers())


@lru_cache(maxsize=8)
def _build(paths: tuple[str, ...]) -> tuple[OfferProvider, ...]:
    return tuple(_checked(import_string(path)(), path) for path in paths)


def _checked(provider: Any, named: str = "") -> OfferProvider:
    if not isinstance(provider, OfferProvider):
        raise TypeError(f"{named or provider!r} does not fulfil oncall.offers.OfferProvider")
    return provider


@dataclass(frozen=True)
class Offers:
    """What an incident offers: its links and its actions (``incident_offers``)."""

    links: list[OfferedLink]
    actions: list[OfferedAction]


def incident_offers(incident: Incident) -> Offers:
    """Links and actions at once (``incident_links``, ``incident_actions``), for a surface
    that shows both (a card's links line and its buttons): the providers are gathered once
    and each asked once for each, whatever the surface builds from them."""
    if incident.merged_into_id is not None:
        return Offers([], [])
    gathered = providers()
    return Offers(_links(incident, gathered), _actions(incident, gathered))


def incident_links(incident: Incident) -> list[OfferedLink]:
    """Every provider's links for ``incident``, in provider order; only web links (http,
    https, or a path of this console) are kept, since a link's URL becomes an ``href``. None
    for a merged incident."""
    if incident.merged_into_id is not None:
        return []
    return _links(incident, providers())


def _links(incident: Incident, gathered: tuple[OfferProvider, ...]) -> list[OfferedLink]:
    return [
        link for provider in gathered for link in provider.links(incident) if _is_web_link(link.url)
    ]


def _is_web_link(url: str) -> bool:
    # "//host/..." is another site, not a path of this console.
    return url.lower().startswith(("https://", "http://")) or (
        url.startswith("/") and not url.startswith("//")
    )


def incident_actions(incident: Incident) -> list[OfferedAction]:
    """Every provider's actions for ``incident``, in provider order. A colour that is not a
    ``#rrggbb`` hex is dropped: pages put it in a style attribute. None for a merged incident
    (it is closed and holds no alerts: nothing is left to act on)."""
    if incident.merged_into_id is not None:
        return []
    return _actions(incident, providers())


def _actions(incident: Incident, gathered: tuple[OfferProvider, ...]) -> list[OfferedAction]:
    return [
        action if _HEX_COLOUR.fullmatch(action.colour or "#000000") else replace(action, colour="")
        for provider in gathered
        for action in provider.actions(incident)
    ]


_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def eligible_people(incident: Incident) -> QuerySet:
    """Whom an action that ``takes_people`` may name: the incident's channel's active members
    (the page's chooser lists them; :func:`run_action` refuses anyone else)."""
    return get_user_model().objects.filter(is_active=True, oncall_channels=incident.channel_id)


def resolve_people(incident: Incident, given: Any) -> list[Any]:
    """The people ``given`` (users or their ids) as users, each one of
    :func:`eligible_people`, in the order given, once each. Raises :class:`InvalidOptions`
    naming whoever is not (unknown, inactive, or outside the channel)."""
    if isinstance(given, (str, bytes)) or not isinstance(given, (list, tuple)):
        raise InvalidOptions("people", _("People must be a list of user ids."))
    ids = [getattr(person, "pk", person) for person in given]
    if not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in ids):
        raise InvalidOptions("people", _("People must be a list of user ids."))
    found = eligible_people(incident).in_bulk(ids)
    refused = list(dict.fromkeys(pk for pk in ids if pk not in found))
    if refused:
        # Named as users are (an unknown id as itself): one more query, on refusal only.
        known = get_user_model().objects.in_bulk(refused)
        names = ", ".join(str(known.get(pk, pk)) for pk in refused)
        raise InvalidOptions(
            "people",
            _("Not active members of the incident's channel: %(people)s.") % {"people": names},
        )
    return [found[pk] for pk in dict.fromkeys(ids)]


def run_action(
    incident: Incident, key: str, actor: Actor, options: Mapping[str, Any] | None = None
) -> ActionResult:
    """Run the offered action ``key``: the one way every surface runs one. Refuses an actor who
    may not act on the incident's channel (``PermissionDenied``), a key no provider offers
    for this incident (:class:`UnknownAction`) and options the action does not take or that
    are not acceptable (:class:`InvalidOptions`); nothing runs then.

    ``options`` are what the surface collected for the action, by name: ``"people"``, users or
    their ids, for an action that ``takes_people`` (resolved by :func:`resolve_people`: the
    provider receives users). Empty options and an empty ``people`` are always accepted."""
    user: Any = actor.user
    if user is None or not can_act_on_channel(user, incident.channel_id):
        raise PermissionDenied(_("Only members of the incident's channel can run its actions."))
    offered = next((a for a in incident_actions(incident) if a.key == key), None)
    if offered is None:
        raise UnknownAction(_("This incident offers no action “%(key)s”.") % {"key": key})
    checked = _checked_options(incident, offered, options or {})
    for provider in providers():
        result = provider.run(incident, key, actor, checked)
        if result is not None:
            return result
    raise UnknownAction(_("This incident offers no action “%(key)s”.") % {"key": key})


def _checked_options(
    incident: Incident, offered: OfferedAction, options: Mapping[str, Any]
) -> dict[str, Any]:
    checked = {name: value for name, value in options.items() if name != "people"}
    people = options.get("people")
    if not people:
        return {**checked, "people": []} if offered.takes_people else checked
    if not offered.takes_people:
        raise InvalidOptions("people", _("This action takes no people."))
    return {**checked, "people": resolve_people(incident, people)}
