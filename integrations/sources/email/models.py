"""The e-mail source's tables: each source's mailbox, and every message as it was received."""

from __future__ import annotations

import hashlib
import secrets
import string

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from oncall.crypto import EncryptedTextField

# Lower-case letters and digits only: mail systems may fold the case of a local part, and the
# knowledge base asks for lower-case addresses. 26 characters of 36 symbols: 134 bits.
_MAILBOX_ALPHABET = string.ascii_lowercase + string.digits
MAILBOX_CHARS = 26


def new_mailbox() -> str:
    return "".join(secrets.choice(_MAILBOX_ALPHABET) for _ in range(MAILBOX_CHARS))


def hash_mailbox(mailbox: str) -> str:
    return hashlib.sha256(mailbox.casefold().encode()).hexdigest()


class MailAddress(models.Model):
    """The address of one e-mail source: ``<mailbox>@<ALERT_EMAIL_DOMAIN>``.

    A random mailbox of its own, not the push token: an address travels further than a URL
    (every relay's log, the Received headers, a reply-all, a forwarded alert), so a leaked
    address must open no more than this mailbox, and it is changed without breaking the
    senders that use the push URL (the relay door). Like the push token it is encrypted at
    rest and looked up by its SHA-256."""

    source = models.OneToOneField(
        "oncall.AlertSource",
        on_delete=models.CASCADE,
        related_name="mail_address",
        verbose_name=_("source"),
    )
    mailbox = EncryptedTextField(default=new_mailbox, editable=False, verbose_name=_("mailbox"))
    mailbox_hash = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("mailbox hash")
    )

    class Meta:
        verbose_name = _("e-mail address")
        verbose_name_plural = _("e-mail addresses")

    def __str__(self) -> str:
        return self.address

    def save(self, *args, **kwargs) -> None:
        self.mailbox_hash = hash_mailbox(self.mailbox)
        super().save(*args, **kwargs)

    @property
    def address(self) -> str:
        return f"{self.mailbox}@{settings.ALERT_EMAIL_DOMAIN}"

    def rotate(self) -> None:
        """A new address; mail to the old one is refused (550) from now on."""
        self.mailbox = new_mailbox()
        self.save(update_fields=["mailbox", "mailbox_hash"])


class InboundMail(models.Model):
    """One message as the SMTP listener received it for one source, stored before the sender
    is told ``250``; a task reads it into events (``integrations.sources.email.intake``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PROCESSED = "processed", _("processed")
        FAILED = "failed", _("failed")

    source = models.ForeignKey(
        "oncall.AlertSource",
        on_delete=models.CASCADE,
        related_name="inbound_mails",
        verbose_name=_("source"),
    )
    received_at = models.DateTimeField(db_index=True, verbose_name=_("received at"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    # The message exactly as it came (SMTP DATA, dot-unstuffed), however malformed.
    raw = models.BinaryField(verbose_name=_("raw"))
    envelope_from = models.CharField(max_length=320, blank=True, verbose_name=_("envelope from"))
    envelope_to = models.CharField(max_length=320, verbose_name=_("envelope to"))
    peer = models.CharField(max_length=64, blank=True, verbose_name=_("peer"))
    subject = models.CharField(max_length=512, blank=True, verbose_name=_("subject"))
    notes = models.JSONField(default=list, blank=True, verbose_name=_("notes"))
    # The push it became (``InboundEvent.request_id``), once read.
    request_id = models.CharField(max_length=36, blank=True, verbose_name=_("request id"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("inbound e-mail")
        verbose_name_plural = _("inbound e-mails")
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_mail_status")]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} → {self.source}"

    @property
    def size(self) -> int:
        return len(self.raw)
