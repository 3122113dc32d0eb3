from __future__ import annotations

from collections.abc import Iterator

import pytest

from oncall.models import Channel, CustomAction
from tests.custom_actions.receiver import Receiver


@pytest.fixture(autouse=True)
def offered(settings):
    """The console's own provider alone, and receivers on loopback allowed on purpose (as an
    operator allows an internal receiver), over plain http."""
    settings.INCIDENT_OFFERS = ["oncall.custom_actions.offers.ChannelOffers"]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def make_action(channel: Channel, receiver: Receiver, **fields: object) -> CustomAction:
    """A saved action on ``channel`` calling ``receiver``, whose secret it is given."""
    action = CustomAction.objects.create(
        name=fields.pop("name", "Roll back"), url=fields.pop("url", receiver.url), **fields
    )
    action.channels.add(channel)
    receiver.secret = action.signing_secret
    return action
