"""The event subscription under real concurrency (PostgreSQL): DingTalk pushing the same event
twice at once, or the same signed request arriving twice at once, acts once; the receipts'
``INSERT ... ON CONFLICT DO NOTHING`` decides, not a read before the write."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from integrations.dingtalk.models import DingTalkGroup, EventReceipt
from tests.concurrency import race
from tests.dingtalk.conftest import Pusher, install_event, uninstall_event
from tests.dingtalk.factories import DingTalkAppFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def test_an_event_pushed_twice_at_once_is_acted_on_once():
    assert connection.vendor == "postgresql"
    app = DingTalkAppFactory()
    pusher = Pusher(Client(), app)
    for round_ in range(ROUNDS):
        group = f"cidRace{round_}"
        pusher.push(install_event(group, f"ev-in-{round_}"))
        # Two deliveries of one uninstall (new requests, the same eventId), at the same moment;
        # then a re-install whose replayed uninstall must not break the group again.
        first = pusher.signed(uninstall_event(group, f"ev-out-{round_}"), nonce=f"a{round_}")
        second = pusher.signed(uninstall_event(group, f"ev-out-{round_}"), nonce=f"b{round_}")
        results = race(
            lambda q=first: Pusher(Client(), app).send(*q),
            lambda q=second: Pusher(Client(), app).send(*q),
        )
        assert [r.status_code for r in results] == [200, 200], results
        assert EventReceipt.objects.filter(key=f"event:ev-out-{round_}").count() == 1
        assert DingTalkGroup.objects.get(open_conversation_id=group).status == "uninstalled"


def test_one_signed_request_arriving_twice_at_once_is_accepted_once():
    app = DingTalkAppFactory()
    for round_ in range(ROUNDS):
        signed = Pusher(Client(), app).signed(install_event(f"cidTwin{round_}", f"ev-{round_}"))
        results = race(
            lambda s=signed: Pusher(Client(), app).send(*s),
            lambda s=signed: Pusher(Client(), app).send(*s),
        )
        assert sorted(r.status_code for r in results) == [200, 409], results
        assert DingTalkGroup.objects.filter(open_conversation_id=f"cidTwin{round_}").count() == 1
