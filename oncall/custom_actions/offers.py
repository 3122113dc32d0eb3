"""The ``oncall.offers`` provider of a channel's custom actions and link integrations
(``settings.INCIDENT_OFFERS``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from oncall.custom_actions import runs, templates
from oncall.models import CustomAction, Incident, LinkIntegration
from oncall.notify.engine import TemplateFailure
from oncall.offers import ActionResult, OfferedAction, OfferedLink
from oncall.timeline import Actor

logger = logging.getLogger(__name__)
KEY_PREFIX = "action:"


class ChannelOffers:
    """The incident's channel's enabled custom actions, as buttons (key ``action:<id>``), and
    its link integrations, as links (key ``link:<id>``)."""

    def links(self, incident: Incident) -> list[OfferedLink]:
        shown: list[OfferedLink] = []
        data = None  # the incident's variables, read once for all links, if there are any
        channel_links = LinkIntegration.objects.filter(channel_id=incident.channel_id)
        for link in channel_links.order_by("position", "id"):
            data = data if data is not None else templates.link_variables(incident)
            try:
                url = templates.render_link(link.url_template, incident, data)
            except TemplateFailure as failure:
                # Checked at save; a budget exceeded now costs this link, not the card.
                logger.warning("link integration %s failed: %s", link.pk, failure)
                continue
            shown.append(OfferedLink(f"link:{link.pk}", link.name, url))
        return shown

    def actions(self, incident: Incident) -> list[OfferedAction]:
        return [_offered(action, incident) for action in _offered_in(incident)]

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        if not key.startswith(KEY_PREFIX) or not key[len(KEY_PREFIX) :].isdigit():
            return None
        action = _offered_in(incident).filter(pk=int(key[len(KEY_PREFIX) :])).first()
        if action is None:
            return None
        return runs.start(action, incident, actor)


def _offered_in(incident: Incident):
    return CustomAction.objects.filter(channels=incident.channel_id, enabled=True)


def _offered(action: CustomAction, incident: Incident) -> OfferedAction:
    question = ""
    if action.confirm:
        question = _("Run “%(action)s” on #%(number)s?") % {
            "action": action.name,
            "number": incident.number,
        }
    return OfferedAction(
        action.key,
        action.name,
        style=action.style,
        confirm=question,
        colour=action.colour,
        icon=action.icon,
    )
