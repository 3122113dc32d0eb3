"""One current card per recipient and incident.

A repeat, a later level, or a person linking after "app not linked" sends the recipient the
incident's card again, once (``delivery``: one message per send, however many notifications
were asked for meanwhile). Each older copy that recipient holds is then *superseded*: marked in
the transaction that records the new message, and turned by the sync that follows into a short
card pointing to the newer one. A superseded copy is not updated on later changes (one PATCH,
ever, instead of one per change), so a level with three repeats leaves one live card.

A click on a superseded copy still works: it acts on the incident and its answer shows the
current card; the sync after the click turns that copy back into the short form (it shows
``SUPERSEDED_FINGERPRINT`` only once the short card is on it).

``after_linking`` is what linking does for a person refused as "app not linked": the
incidents still open that they were refused for send them their current card, once each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext

from integrations.feishu.cards.render import console_link
from integrations.feishu.models import CardDelivery, FeishuApp, SentCard
from oncall.languages import card_language
from oncall.models import Incident, TimelineEntry
from oncall.timeline import Actor, build, display_name, record_many
from oncall.timeline_messages import phrase

# What a superseded copy shows once the short card is on it. Not a SHA-256 digest, so no card
# content can pose as it; the short card never changes, so it is patched once.
SUPERSEDED_FINGERPRINT = "superseded"


def short_card(incident: Incident, app: FeishuApp | None) -> dict:
    """The card a superseded copy shows: which incident, that a newer card was sent, and a
    link to the incident. Nothing in it changes with the incident, so it is sent once."""
    language = app.language_for(incident) if app else card_language(incident)
    with translation.override(language):
        text = gettext(
            "A newer card for this incident was sent below: it shows the current state and "
            "its buttons. This copy is no longer updated."
        )
        link = f"[{gettext('Open in console')}]({console_link(incident, app)})"
        title = gettext("Incident #%(number)s: see the newer card") % {"number": incident.number}
    return {
        "config": {"update_multi": True, "wide_screen_mode": True},
        "header": {"template": "grey", "title": {"tag": "plain_text", "content": title}},
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": f"{text}\n{link}"}}],
    }


def supersede_older(delivery_id: int, now: datetime) -> int:
    """Mark the delivery's live copies superseded (in the caller's transaction, before the
    newer copy's row is written); returns how many."""
    return SentCard.objects.filter(delivery_id=delivery_id, superseded_at__isnull=True).update(
        superseded_at=now
    )


def record_late(delivery_id: int, message_id: str, fingerprint: str, now: datetime) -> bool:
    """A message that reached Feishu after a newer one of the same delivery was recorded (two
    tasks raced): kept, superseded at once, so that the sync turns it into the short card.
    False when the message is known already (a twin task's send, answered with the same
    message because the uuid was the same)."""
    _, created = SentCard.objects.get_or_create(
        message_id=message_id,
        defaults={
            "delivery_id": delivery_id,
            "fingerprint": fingerprint,
            "sent_at": now,
            "updated_at": now,
            "superseded_at": now,
        },
    )
    return created


# --- After linking -------------------------------------------------------------------------

OPEN = (Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED)


def after_linking(user: Any, app: FeishuApp) -> list[int]:
    """``user`` just linked their account in ``app``: every open incident whose card they
    were refused ("app not linked") is owed to them again, as one card each, however many
    times they were refused. Runs in the linking's transaction: the deliveries become pending
    with it, so a lost task is handed out again by ``resend_stalled``. Returns the deliveries
    to send, sent after commit."""
    owed = list(
        CardDelivery.objects.select_for_update(of=("self",))
        .select_related("incident")
        .filter(
            app=app,
            user=user,
            state=CardDelivery.State.NOT_LINKED,
            sent__lt=F("requested"),
            incident__status__in=OPEN,
            incident__merged_into__isnull=True,
        )
        .order_by("pk")
    )
    if not owed:
        return []
    now = timezone.now()
    CardDelivery.objects.filter(pk__in=[d.pk for d in owed]).update(
        state=CardDelivery.State.PENDING, last_error="", attempts=0, updated_at=now
    )
    record_many([_linked_entry(d.incident, user, app) for d in owed])
    ids = [d.pk for d in owed]
    transaction.on_commit(lambda: _enqueue(ids))
    return ids


def _linked_entry(incident: Incident, user: Any, app: FeishuApp) -> TimelineEntry:
    message = phrase("account_linked", person=display_name(user), app=str(app))
    return build(incident, TimelineEntry.Kind.NOTIFIED, Actor.system(), message)


def _enqueue(delivery_ids: list[int]) -> None:
    from integrations.feishu.cards import delivery  # it imports this module

    delivery._enqueue_sends(delivery_ids)
