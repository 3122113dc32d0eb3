"""E-mail into alert events: one mail is one event about one alert.

As the knowledge base's e-mail integration says: the subject is the title and the body the
description (the plain-text part preferred, else the HTML part converted to text); every mail is
Warning unless the source's ``severity_words`` say otherwise; attachments are dropped (label
``attachment_stripped=true``) and a body longer than the description's limit is cut (label
``body_cut=true``). The identity comes from the subject with its numbers, dates, times and hex
ids taken out (``subject.identity``), so that the next mail about the same problem merges; a
subject holding a recovery word resolves the alert.

Two doors lead here, both into :func:`mail_events`:

* the SMTP listener stores the raw message; a task reads it (``mime.read_mime``) and pushes the
  :func:`mail_payload` of it through the normal ingestion;
* inbound-mail relays post the mail to the source's push URL as JSON or as a form
  (:func:`relay_mail`): SendGrid Inbound Parse (parsed fields, or the raw message in ``email``),
  Mailgun routes (``body-plain``..., or the raw message in ``body-mime``) and Postmark's
  inbound JSON (``Subject``, ``TextBody``, ``HtmlBody``, or ``RawEmail``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

from integrations.sources.common import require_object, truncate
from integrations.sources.email.mime import Mail, html_to_text, read_mime, tidy_text
from integrations.sources.email.options import MailOptions
from integrations.sources.email.subject import TRIGGER_WORDS, find_word, identity
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
    stable_key,
)

# The relays' field names, SendGrid's, Mailgun's and Postmark's, of each thing a mail has.
RAW_FIELDS = ("email", "body-mime", "RawEmail")
_SUBJECT_FIELDS = ("subject", "Subject")
_TEXT_FIELDS = ("text", "body-plain", "TextBody")
_HTML_FIELDS = ("html", "body-html", "HtmlBody")
_SENDER_FIELDS = ("from", "From", "sender")
_MESSAGE_ID_FIELDS = ("message_id", "Message-Id", "MessageID")
_COUNT = re.compile(r"[ ]*[0-9]{1,9}[ ]*")


# --- events ------------------------------------------------------------------------------------


def mail_events(mail: Mail, options: MailOptions) -> list[AlertEvent]:
    """The one event a mail makes (see the module docstring)."""
    # Cut first: the title holds no more, and the words are looked for in what is shown.
    subject = truncate(" ".join(mail.subject.split()), MAX_TITLE_CHARS)
    recovered = bool(find_word(subject, options.recovery_words))
    severity, raw_severity = _severity(subject, mail.text, options)
    description, cut = _description(mail.text)
    labels = {"from": mail.sender[:MAX_LABEL_VALUE_CHARS]} if mail.sender else {}
    if mail.attachments:
        labels["attachment_stripped"] = "true"
    if cut:
        labels["body_cut"] = "true"
    return [
        AlertEvent(
            alert_key=_alert_key(mail, subject, options),
            kind=EventKind.RESOLVED if recovered else EventKind.FIRING,
            title=subject or _untitled(mail),
            severity=severity,
            raw_severity=raw_severity,
            description=description,
            labels=labels,
            starts_at=None if recovered else mail.date,
            ends_at=mail.date if recovered else None,
        )
    ]


def _severity(subject: str, body: str, options: MailOptions) -> tuple[Severity, str]:
    """The most urgent severity with a word in the subject (or the body, if asked), and that
    word, so that the source's severity overrides can map it; else Warning."""
    searched = f"{subject}\n{body}" if options.search_body else subject
    for severity, words in options.severity_words:
        word = find_word(searched, words)
        if word:
            return severity, word[:64]
    return Severity.WARNING, ""


def _description(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_DESCRIPTION_CHARS:
        return text, False
    return truncate(text, MAX_DESCRIPTION_CHARS), True


def _untitled(mail: Mail) -> str:
    title = f"E-mail from {mail.sender} without a subject" if mail.sender else "E-mail"
    return truncate(title, MAX_TITLE_CHARS)


def _alert_key(mail: Mail, subject: str, options: MailOptions) -> str:
    if options.identity == "message":
        # Every mail its own alert: its Message-ID, else what it says and when.
        return f"mail-{stable_key(mail.message_id or (subject, mail.text, mail.date))}"
    return f"mail-{stable_key(subject_identity(mail, subject, options))}"


def subject_identity(mail: Mail, subject: str, options: MailOptions) -> str:
    """What two mails about the same problem share: the key pattern's match, else the
    normalised subject, else (a subject of numbers only, or none) the sender."""
    if options.key_pattern is not None:
        match = options.key_pattern.search(subject)
        if match:
            found = match.group(1) if match.re.groups and match.group(1) else match.group(0)
            if found.strip():
                return " ".join(found.casefold().split())
    normalised = identity(subject, [*options.recovery_words, *TRIGGER_WORDS])
    return normalised or f"from {mail.sender}"


# --- the relay door ---------------------------------------------------------------------------


def recognises(payload: Any) -> bool:
    """A relay's inbound-mail post: a raw message field, or a subject with a body field."""
    if not isinstance(payload, Mapping):
        return False
    if any(isinstance(payload.get(name), str) for name in RAW_FIELDS):
        return True
    has_subject = any(name in payload for name in _SUBJECT_FIELDS)
    return has_subject and any(name in payload for name in (*_TEXT_FIELDS, *_HTML_FIELDS))


def relay_mail(payload: Any) -> Mail:
    """The mail a relay posted (see the module docstring), or ``PayloadError``."""
    payload = require_object(payload, None)
    for name in RAW_FIELDS:
        raw = payload.get(name)
        if isinstance(raw, str) and raw.strip():
            # Relays post the message as text (UTF-8); its own MIME encodings are inside it.
            return read_mime(raw.encode("utf-8", errors="replace"))
    if not any(
        isinstance(payload.get(name), str | list)
        for name in (*_SUBJECT_FIELDS, *_TEXT_FIELDS, *_HTML_FIELDS)
    ):
        raise PayloadError(
            "This is not an inbound e-mail: post a subject with a text or html body "
            "(SendGrid Inbound Parse, Mailgun routes, Postmark inbound), or the raw message in "
            "'email' or 'body-mime'.",
            field="subject",
        )
    text = _text_field(payload, _TEXT_FIELDS)
    html = _text_field(payload, _HTML_FIELDS)
    return Mail(
        subject=_text_field(payload, _SUBJECT_FIELDS),
        sender=_sender(_text_field(payload, _SENDER_FIELDS)),
        text=tidy_text(text if text.strip() else html_to_text(html)),
        message_id=_text_field(payload, _MESSAGE_ID_FIELDS).strip("<> "),
        date=_date(payload),
        attachments=_attachment_count(payload),
    )


def relay_sender(payload: Mapping[str, Any], mail: Mail) -> str:
    """The envelope sender a relay reports (SendGrid's ``envelope`` JSON ``from``, Mailgun's
    ``sender``), else the mail's From address: what ``allowed_senders`` is checked against, as
    SMTP's ``MAIL FROM`` is at the listener."""
    envelope = payload.get("envelope")
    if isinstance(envelope, str):  # SendGrid posts it as JSON text
        try:
            envelope = json.loads(envelope)
        except ValueError:
            envelope = None
    if isinstance(envelope, Mapping) and isinstance(envelope.get("from"), str):
        return _sender(envelope["from"])
    mailgun = payload.get("sender")
    if isinstance(mailgun, str) and mailgun.strip():
        return _sender(mailgun)
    return mail.sender


def _text_field(payload: Mapping[str, Any], names: tuple[str, ...]) -> str:
    """The first of ``names`` holding text. A field of another type is passed over rather than
    refused: a relay's mail is read with what it has (never lost for a field it got wrong)."""
    for name in names:
        value = payload.get(name)
        if isinstance(value, list):  # Mailgun's body-html: one entry per HTML part
            value = "\n".join(item for item in value if isinstance(item, str))
        if isinstance(value, str) and value:
            return value
    return ""


def _sender(value: str) -> str:
    return parseaddr(value)[1].lower()


def _date(payload: Mapping[str, Any]) -> datetime | None:
    """The mail's date: ISO 8601 (this module's own ``date``) or RFC 5322 (Mailgun's and
    Postmark's ``Date``); one without a zone says nothing and is ignored."""
    value = payload.get("date", payload.get("Date"))
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo is not None else None


def _attachment_count(payload: Mapping[str, Any]) -> int:
    """SendGrid's ``attachments`` and Mailgun's ``attachment-count`` are counts (as text in a
    form); Postmark's ``Attachments`` is a list."""
    for name in ("attachments", "attachment-count"):
        value = payload.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
        # ASCII digits only: str.isdigit() holds for "²", and strip() drops control characters
        # that int() refuses.
        if isinstance(value, str) and _COUNT.fullmatch(value):
            return int(value)
    attachments = payload.get("Attachments")
    return len(attachments) if isinstance(attachments, list) else 0


# --- the SMTP door ----------------------------------------------------------------------------


def mail_payload(mail: Mail) -> dict[str, Any]:
    """A mail read from SMTP in the relay door's own shape (SendGrid's parsed field names), so
    that both doors go through the one ``parse``."""
    return {
        "subject": mail.subject,
        "from": mail.sender,
        "text": mail.text,
        "message_id": mail.message_id,
        "attachments": str(mail.attachments),
        **({"date": mail.date.isoformat()} if mail.date else {}),
    }
