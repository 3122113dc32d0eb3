"""The incident card rendered once per change and reused by every send and sync that follows.

A fan-out sends the same card to ten people, and a click's answer renders the card its sync
would render again a second later: the card is the same until the incident changes. Every
change announced for an incident (``delivery.follow_change``) gives it a new random
*version* in the shared cache; a rendered card is stored with the version read before it was
rendered, and reused only while that version is still the current one. Since the version is
read before the incident, a stored card shows at least every change whose version it names; a
change committed later gets a new version (and its own sync) when it is announced.

Time changes a card too ("10:42" becomes a date tomorrow, a snooze ends): a stored card lives
at most ``MAX_SECONDS``, and never past the next local midnight or the end of the snooze it
shows. The versions are the toolkit's (``chatkit.card_versions``): a render that finds none (a
new incident whose creation is not announced yet, a cache emptied) starts one, so that a new
incident's card is rendered once for all its first sends.

A card is stored per app: its links into the console go through that app's web entry (so
Feishu opens them signed in), and its images are uploaded by, and belong to, the app that
sends it (``images``), so two apps' cards of one incident differ. A card rendered for no app
(links straight to the console) is stored apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from integrations.chatkit.card_versions import CardVersions
from integrations.feishu.cards.images import CardImages
from integrations.feishu.cards.render import card_fingerprint, incident_card
from integrations.feishu.models import FeishuApp
from oncall.models import Incident

MAX_SECONDS = 60
VERSIONS = CardVersions("feishu")


@dataclass(frozen=True)
class Rendered:
    incident_id: int
    card: dict
    fingerprint: str
    # The incident's version the card was rendered at (None: unknown, never reused).
    version: str | None


def changed(incident_id: int) -> None:
    """The incident changed: cards stored before are stale from now on."""
    VERSIONS.changed(incident_id)


def version(incident_id: int) -> str | None:
    return VERSIONS.current(incident_id)


def current(
    incident_id: int, load: Callable[[], Incident | None], app: FeishuApp | None = None
) -> Rendered | None:
    """The incident's current card as ``app`` sends it: the stored one while its version
    holds, else rendered from ``load()`` (None when the incident is gone) and stored. ``load``
    must read the incident now, after the version: a copy read earlier may miss a change it
    names."""
    card_key = _card_key(incident_id, app)
    found = cache.get_many([_version_key(incident_id), card_key])
    now_version = found.get(_version_key(incident_id))
    stored = found.get(card_key)
    if now_version is not None and stored and stored["version"] == now_version:
        return Rendered(incident_id, stored["card"], stored["fingerprint"], now_version)
    # Read (or started) before the incident: see the module's docstring.
    at_version = VERSIONS.at_render(incident_id, now_version)
    incident = load()
    if incident is None:
        return None
    return _render(incident, at_version, app)


def changed_since(rendered: Rendered) -> bool:
    """Whether the incident may have changed after ``rendered`` was made."""
    return VERSIONS.changed_since(rendered.incident_id, rendered.version)


def _render(incident: Incident, at_version: str | None, app: FeishuApp | None) -> Rendered:
    now = timezone.now()
    images = CardImages(app)
    card = incident_card(incident, now=now, images=images)
    rendered = Rendered(incident.pk, card, card_fingerprint(card), at_version)
    if at_version is not None:
        stored = {"version": at_version, "card": card, "fingerprint": rendered.fingerprint}
        key = _card_key(incident.pk, app)
        cache.set(key, stored, timeout=_lifetime(incident, now))
    return rendered


def _lifetime(incident: Incident, now: datetime) -> int:
    """Seconds a card rendered ``now`` stays true without a change (at least 1)."""
    ends = [now + timedelta(seconds=MAX_SECONDS), _next_local_midnight(now)]
    if incident.snoozed_until is not None and incident.snoozed_until > now:
        ends.append(incident.snoozed_until)
    return max(1, int((min(ends) - now).total_seconds()))


def _next_local_midnight(now: datetime) -> datetime:
    local = timezone.localtime(now, timezone.get_default_timezone())
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _version_key(incident_id: int) -> str:
    return VERSIONS.key(incident_id)


def _card_key(incident_id: int, app: FeishuApp | None = None) -> str:
    if app is None:
        return f"feishu:card:{incident_id}"
    return f"feishu:card:{incident_id}:{app.pk}"
