"""The admin's "send a test card": an example incident's card, sent now, to one recipient."""

from __future__ import annotations

import uuid

from django.utils import timezone

from integrations.feishu.cards.render import incident_card
from integrations.feishu.models import FeishuApp, FeishuChat, LinkedAccount
from oncall.models import Alert, Channel, Incident

# The example incident's id, in its buttons: a click on a test card names no real incident, and
# is told it clicked a test card (``inbound.incident_buttons``) rather than "no longer exists".
EXAMPLE_INCIDENT_ID = uuid.UUID(int=0)


def example_card() -> dict:
    """The card of an example incident (never saved), as responders will see them."""
    now = timezone.now()
    incident = Incident(
        public_id=EXAMPLE_INCIDENT_ID,
        number=0,
        title="Test card from the on-call console",
        severity="info",
        channel=Channel(name="Test"),
        created_at=now,
        updated_at=now,
        alert_count=1,
        last_alert_at=now,
    )
    alert = Alert(
        incident=incident,
        title=incident.title,
        description="If you can read this, cards reach this recipient.",
        severity="info",
        labels={"resource": "on-call console", "purpose": "test"},
        first_seen=now,
        last_seen=now,
    )
    return incident_card(incident, alerts=[alert], now=now)


def send_test_card(app: FeishuApp, recipient: str) -> str:
    """``recipient`` is ``user:<id>`` (a linked person) or ``chat:<pk>``; returns the message id.
    Raises the client's ``FeishuError`` subclasses (and ``LookupError`` for a stale choice)."""
    kind, _, key = recipient.partition(":")
    client = app.client()
    once = f"test-{uuid.uuid4().hex[:24]}"
    if kind == "chat":
        chat = FeishuChat.objects.get(app=app, pk=key)
        return client.send_message("chat_id", chat.chat_id, example_card(), once)
    link = LinkedAccount.objects.get(app=app, user_id=key)
    return client.send_message("open_id", link.open_id, example_card(), once)
