"""From an SMTP recipient to alert events: who a recipient is, storing a message before its
``250``, reading it in a worker, and the sweep that hands out what a lost task left pending.

Synchronous Django code: the listener (``smtp``) calls it from its event loop through
``sync_to_async`` (and manages its connections as a request would), the task (``tasks``)
directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from integrations.sources.email.mime import read_mime
from integrations.sources.email.models import InboundMail, MailAddress, hash_mailbox
from integrations.sources.email.options import read_options
from integrations.sources.email.parser import mail_payload
from oncall import ingest
from oncall.events import PayloadError
from oncall.models import AlertSource
from oncall.sources import PushRequest

logger = logging.getLogger(__name__)

KIND = "email"
MAX_PROCESS_ATTEMPTS = 5
SWEEP_BATCH = 200


@dataclass(frozen=True)
class Recipient:
    """An RCPT TO the listener accepted: the address as given and its source's id."""

    address: str
    source_id: int


class Refused(Exception):
    """A recipient the listener answers with ``reply`` (an SMTP status line)."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def recipient(address: str, sender: str = "") -> Recipient:
    """The e-mail source ``address`` belongs to, else ``Refused`` with the 550 to answer: also
    when the source's ``allowed_senders`` do not hold ``sender``, the envelope's ``MAIL FROM``.

    ``mailbox+anything@domain`` reaches ``mailbox``: a sender may tag its mail (sub-addressing,
    RFC 5233), and the tag is not part of the secret."""
    local, _, domain = address.rpartition("@")
    if domain.casefold() != settings.ALERT_EMAIL_DOMAIN.casefold():
        raise Refused(f"550 5.1.2 This server takes mail for {settings.ALERT_EMAIL_DOMAIN} only")
    mailbox = local.split("+", 1)[0]
    found = (
        MailAddress.objects.select_related("source")
        .filter(mailbox_hash=hash_mailbox(mailbox), source__kind=KIND)
        .first()
    )
    if found is None:
        raise Refused("550 5.1.1 No alert source has this address")
    if not found.source.enabled:
        raise Refused(f"550 5.7.1 The alert source {found.source.name!r} is disabled")
    if not read_options(found.source.options).allows(sender):
        # The sender is not echoed: the reply may not be able to carry its characters.
        raise Refused(
            "550 5.7.1 This alert source takes mail only from its allowed senders "
            "(the envelope sender, MAIL FROM, is not one)"
        )
    return Recipient(address, found.source_id)


def store(raw: bytes, recipients: list[Recipient], *, envelope_from: str, peer: str) -> list[int]:
    """Store the message once per recipient source, durably, and queue each for reading once
    committed. The caller answers ``250`` only after this returns."""
    now = timezone.now()
    with transaction.atomic():
        mails = [
            InboundMail.objects.create(
                source_id=source_id,
                received_at=now,
                raw=raw,
                envelope_from=envelope_from[:320],
                envelope_to=masked(address)[:320],
                peer=peer[:64],
            )
            for source_id, address in _one_per_source(recipients)
        ]
        for mail in mails:
            # robust: a broker that is down must not turn a stored mail into a 451 (the
            # sender would send it again); the sweep hands it out later.
            transaction.on_commit(lambda pk=mail.pk: enqueue(pk), robust=True)
    return [mail.pk for mail in mails]


def masked(address: str) -> str:
    """An address fit for a log line or a stored record: the mailbox is its source's secret
    (encrypted at rest), so only its first characters are kept, enough to tell two apart."""
    mailbox, at, domain = address.rpartition("@")
    return f"{mailbox[:4]}…{at}{domain}" if mailbox else address[:4] + "…"


def _one_per_source(recipients: list[Recipient]) -> list[tuple[int, str]]:
    # Two addresses of one source in one message (a tag, a case) make one alert, not two.
    chosen: dict[int, str] = {}
    for item in recipients:
        chosen.setdefault(item.source_id, item.address)
    return list(chosen.items())


def enqueue(mail_id: int) -> None:
    from integrations.sources.email.tasks import process_inbound_mail  # tasks import this

    try:
        process_inbound_mail.delay(mail_id)
    except OperationalError as error:
        logger.warning(
            "Inbound mail %s is stored; the broker did not take its task (%s): the sweep "
            "will hand it to a worker.",
            mail_id,
            error,
        )


def process(mail_id: int) -> bool:
    """Read a stored message and push its event through the normal ingestion, exactly once.
    True if it did; False if the mail is gone, done, or being read by another worker."""
    try:
        with transaction.atomic():
            mail = (
                InboundMail.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("source")
                .filter(pk=mail_id, status=InboundMail.Status.PENDING)
                .first()
            )
            if mail is None:
                return False
            _read(mail)
    except Exception as error:
        _record_failure(mail_id, error)
        raise
    return True


def _read(mail: InboundMail) -> None:
    raw = bytes(mail.raw)
    parsed = read_mime(raw)
    notes = list(parsed.notes)
    mail.subject = " ".join(parsed.subject.split())[:512]
    mail.processed_at = timezone.now()
    try:
        result = ingest.accept(
            mail.source,
            mail_payload(parsed),
            body_bytes=len(raw),
            edge_notes=notes,
            # Its options, but no signing secret: that is for relays' posts, and the SMTP
            # listener has already checked the address and the envelope sender. No source_id
            # either: with one, parse_push would check allowed_senders again, against the
            # From header, and a changed option would fail a mail already answered 250.
            push=PushRequest.bare(mail.source.options),
        )
    except PayloadError as error:
        # The source's settings refused it: kept, with the reason, for a human to read.
        mail.status, mail.notes = InboundMail.Status.FAILED, [*notes, error.message]
    else:
        mail.status, mail.notes = InboundMail.Status.PROCESSED, list(result.notes)
        mail.request_id = result.request_id
    mail.attempts = F("attempts") + 1
    mail.save(
        update_fields=["subject", "processed_at", "status", "notes", "request_id", "attempts"]
    )


def _record_failure(mail_id: int, error: Exception) -> None:
    logger.exception("reading inbound mail %s failed", mail_id)
    InboundMail.objects.filter(pk=mail_id, status=InboundMail.Status.PENDING).update(
        attempts=F("attempts") + 1, error=f"{type(error).__name__}: {error}"[:2000]
    )
    InboundMail.objects.filter(
        pk=mail_id, status=InboundMail.Status.PENDING, attempts__gte=MAX_PROCESS_ATTEMPTS
    ).update(status=InboundMail.Status.FAILED)


def sweep() -> tuple[int, int]:
    """Hand out again the mails still pending a while after they arrived (their task was
    lost: a broker or a worker down); drop read mails past the retention period. Returns
    (re-queued, deleted)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.INBOUND_EVENT_REQUEUE_SECONDS)
    stale = list(
        InboundMail.objects.filter(status=InboundMail.Status.PENDING, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for mail_id in stale:
        enqueue(mail_id)
    if stale:
        logger.warning("re-queued %d inbound mail(s) whose reading was lost", len(stale))
    retention = now - timedelta(days=settings.INBOUND_EVENT_RETENTION_DAYS)
    deleted, _ = (
        InboundMail.objects.filter(received_at__lt=retention)
        .exclude(status=InboundMail.Status.PENDING)
        .delete()
    )
    return len(stale), deleted


def source_address(source: AlertSource) -> str:
    """The e-mail address of an e-mail source, made the first time it is asked for."""
    address, _ = MailAddress.objects.get_or_create(source=source)
    return address.address
