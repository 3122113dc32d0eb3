"""The e-mail source end to end: real SMTP conversations (smtplib) with the listener, started
on a free loopback port inside the test, into alerts and incidents; the raw message stored
before the 250; refusals with the right codes; the sweep and the task's exactly-once reading."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from integrations.sources.email import intake
from integrations.sources.email.models import InboundMail, MailAddress
from integrations.sources.email.smtp import Listener
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory

# The listener's thread works on its own database connection: what the test writes must be
# committed for it to see, so these tests run outside a wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)

MAIL_FIXTURES = Path(__file__).resolve().parents[2] / ("integrations/sources/email/fixtures/mail")
DOMAIN = "alerts.example.com"


@pytest.fixture
def mail_settings(settings):
    settings.ALERT_EMAIL_DOMAIN = DOMAIN
    settings.ALERT_EMAIL_MAX_BYTES = 64 * 1024
    return settings


@pytest.fixture
def listener(mail_settings) -> Iterator[tuple[str, int]]:
    running = Listener("127.0.0.1", 0)
    bound = running.start()
    yield bound
    running.stop()


@pytest.fixture
def source(channel):
    return AlertSourceFactory(kind="email", channel=channel, name="Mail alerts")


@pytest.fixture
def address(source, mail_settings) -> str:
    return intake.source_address(source)


def send(bound: tuple[str, int], to: str, message: EmailMessage | bytes) -> dict:
    with smtplib.SMTP(*bound, timeout=10) as client:
        if isinstance(message, bytes):
            return client.sendmail("monitor@ops.example.com", [to], message)
        return client.send_message(message, "monitor@ops.example.com", [to])


def mail(subject: str, body: str = "details") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Monitor <monitor@ops.example.com>"
    message["Subject"] = subject
    message.set_content(body)
    return message


def fixture(name: str, to: str) -> bytes:
    return (MAIL_FIXTURES / name).read_bytes().replace(b"MAILBOX@alerts.example.com", to.encode())


def test_it_opens_an_incident_and_merges_the_same_problem(listener, address, source):
    send(listener, address, mail("[FIRING:1] CPU at 95% on db-1 since 16:45:01 (id 0x7f3a9c21)"))
    send(listener, address, mail("[FIRING:1] CPU at 97% on db-1 since 16:50:12 (id 0x7f3a9d07)"))

    alert = Alert.objects.get()
    incident = Incident.objects.get()
    assert alert.incident == incident
    assert alert.event_count == 2
    assert alert.severity == "warning"
    assert alert.title.startswith("[FIRING:1] CPU at 97%")
    assert alert.labels["from"] == "monitor@ops.example.com"
    assert incident.channel == source.channel
    assert list(InboundMail.objects.values_list("status", flat=True)) == ["processed"] * 2


def test_another_host_is_another_alert(listener, address):
    send(listener, address, mail("Disk full on db-1"))
    send(listener, address, mail("Disk full on db-2"))

    assert Alert.objects.count() == 2


def test_the_raw_message_is_stored_as_it_came(listener, address, source):
    raw = fixture("firing.eml", address)

    send(listener, address, raw)

    stored = InboundMail.objects.get()
    assert bytes(stored.raw) == raw
    assert stored.source == source
    assert stored.envelope_from == "monitor@ops.example.com"
    # The mailbox is the source's secret: kept whole only in its encrypted row.
    assert stored.envelope_to == f"{address[:4]}…@{DOMAIN}"
    assert stored.peer == "127.0.0.1"
    assert stored.subject == "** PROBLEM Service Alert: db-1/Disk /var is CRITICAL **"
    assert stored.request_id


def test_a_recovery_subject_resolves_the_alert(listener, address):
    send(listener, address, fixture("firing.eml", address))
    send(listener, address, fixture("recovered.eml", address))

    alert = Alert.objects.get()
    assert alert.status == Alert.Status.RESOLVED
    assert alert.event_count == 2


def test_a_broken_mime_mail_is_accepted_stored_and_noted(listener, address):
    raw = fixture("broken_mime.eml", address)

    send(listener, address, raw)

    stored = InboundMail.objects.get()
    assert bytes(stored.raw) == raw
    assert any("malformed" in note for note in stored.notes)
    assert any("x-unknown-charset" in note for note in stored.notes)
    alert = Alert.objects.get()
    assert alert.title == "ALERT queue depth 18234 on mq-2"
    assert alert.labels["attachment_stripped"] == "true"


def test_an_unknown_recipient_is_refused_with_550(listener, address):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener, f"nobody@{DOMAIN}", mail("Disk full"))

    code, reason = refused.value.recipients[f"nobody@{DOMAIN}"]
    assert code == 550
    assert b"No alert source has this address" in reason
    assert not InboundMail.objects.exists()


def test_another_domain_is_refused_with_550(listener, address):
    mailbox = address.split("@")[0]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener, f"{mailbox}@elsewhere.example.org", mail("Disk full"))

    code, _ = refused.value.recipients[f"{mailbox}@elsewhere.example.org"]
    assert code == 550
    assert not InboundMail.objects.exists()


def test_a_disabled_source_is_refused_with_550_and_the_reason(listener, address, source):
    source.enabled = False
    source.save()

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener, address, mail("Disk full"))

    code, reason = refused.value.recipients[address]
    assert code == 550
    assert b"'Mail alerts' is disabled" in reason


def test_an_oversize_mail_is_refused_with_552_and_not_stored(listener, address):
    # No SIZE declared at MAIL FROM: the listener counts the DATA as it comes.
    big = mail("Huge report", ("x" * 99 + "\n") * 700).as_bytes(policy=policy.SMTP)
    with smtplib.SMTP(*listener, timeout=10) as client:
        client.ehlo()
        client.mail("monitor@ops.example.com")
        client.rcpt(address)
        code, reason = client.data(big)

    assert code == 552
    assert b"Too much mail data" in reason
    assert not InboundMail.objects.exists()
    assert not Alert.objects.exists()


def test_a_declared_size_over_the_limit_is_refused_at_mail_from(listener, address):
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(listener, address, mail("Huge report", "x" * 70 * 1024))

    assert refused.value.smtp_code == 552
    assert not InboundMail.objects.exists()


def test_the_address_is_case_blind_and_takes_a_tag(listener, address):
    mailbox, _, domain = address.partition("@")
    tagged = f"{mailbox.upper()}+db@{domain.upper()}"

    send(listener, tagged, mail("Disk full on db-1"))

    assert Alert.objects.count() == 1


def test_a_rotated_address_stops_working(listener, address, source):
    MailAddress.objects.get(source=source).rotate()

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(listener, address, mail("Disk full"))

    send(listener, intake.source_address(source), mail("Disk full"))
    assert Alert.objects.count() == 1


def test_a_source_of_another_kind_has_no_mailbox(listener, mail_settings, channel):
    other = AlertSourceFactory(kind="alertmanager", channel=channel)
    stray = MailAddress.objects.create(source=other)

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(listener, stray.address, mail("Disk full"))


def test_one_mail_to_two_sources_is_stored_once_for_each(listener, address, channel):
    second = AlertSourceFactory(kind="email", channel=channel, name="Second")
    other_address = intake.source_address(second)

    with smtplib.SMTP(*listener, timeout=10) as client:
        client.send_message(mail("Disk full"), "m@ops.example.com", [address, other_address])

    assert InboundMail.objects.count() == 2
    assert Alert.objects.count() == 2


def test_a_mail_the_database_cannot_take_gets_451_so_the_sender_retries(
    listener, address, monkeypatch
):
    def down(*args, **kwargs):
        raise OSError("database unreachable")

    monkeypatch.setattr(intake, "store", down)

    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(listener, address, mail("Disk full"))

    assert deferred.value.smtp_code == 451
    assert not InboundMail.objects.exists()


def test_no_log_line_holds_a_whole_address(listener, address, source, caplog):
    import logging

    source.enabled = False
    source.save()
    with caplog.at_level(logging.DEBUG), pytest.raises(smtplib.SMTPRecipientsRefused):
        send(listener, address, mail("Disk full"))

    assert f"{address[:4]}…@{DOMAIN}" in caplog.text
    assert address not in caplog.text


def test_text_the_database_cannot_store_is_replaced(listener, address):
    raw = (
        f"From: monitor@ops.example.com\r\nTo: {address}\r\n"
        "Subject: =?utf-8?q?Disk=00full_on_db-1?=\r\n\r\n"
    ).encode() + b"caf\xc3\xa9 \xff\x00 end\r\n"

    send(listener, address, raw)

    alert = Alert.objects.get()
    assert alert.title == "Disk\ufffdfull on db-1"
    assert alert.description == "café \ufffd\ufffd end"
    assert bytes(InboundMail.objects.get().raw) == raw


# --- allowed_senders: checked at RCPT against the envelope sender (MAIL FROM) -------------------


def allow(source, *senders: str) -> None:
    source.options = {**source.options, "allowed_senders": list(senders)}
    source.save()


def test_an_allowed_envelope_sender_is_taken_whatever_the_from_header(listener, address, source):
    allow(source, "monitor@ops.example.com")
    message = mail("Disk full on db-1")
    message.replace_header("From", "Someone Else <else@elsewhere.example.org>")

    refused = send(listener, address, message)

    assert refused == {}
    stored = InboundMail.objects.get()
    assert (stored.envelope_from, stored.status) == ("monitor@ops.example.com", "processed")
    assert Alert.objects.get().labels["from"] == "else@elsewhere.example.org"
    assert Incident.objects.count() == 1


def test_a_domain_entry_takes_its_senders_case_blind(listener, address, source):
    allow(source, "@OPS.example.com")

    with smtplib.SMTP(*listener, timeout=10) as client:
        client.send_message(mail("Disk full"), "Monitor@Ops.Example.COM", [address])

    assert Alert.objects.count() == 1


def test_another_sender_is_refused_at_rcpt_with_550_5_7_1(listener, address, source):
    allow(source, "zabbix@ops.example.com", "@monitoring.example.com")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener, address, mail("Disk full"))

    code, reason = refused.value.recipients[address]
    assert code == 550
    assert reason.startswith(b"5.7.1 This alert source takes mail only from its allowed senders")
    assert not InboundMail.objects.exists()
    assert not Alert.objects.exists()


def test_a_subdomain_of_an_allowed_domain_is_another_sender(listener, address, source):
    allow(source, "@example.com")

    with (
        smtplib.SMTP(*listener, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.send_message(mail("Disk full"), "monitor@ops.example.com", [address])

    assert not InboundMail.objects.exists()


def test_a_bounce_with_no_sender_is_refused_when_senders_are_listed(listener, address, source):
    allow(source, "@ops.example.com")
    with smtplib.SMTP(*listener, timeout=10) as client:
        client.ehlo()
        client.mail("")
        code, reason = client.rcpt(address)

    assert code == 550
    assert b"5.7.1" in reason


def test_one_sources_refusal_spares_the_other_recipient(listener, address, source, channel):
    allow(source, "zabbix@ops.example.com")
    open_source = AlertSourceFactory(kind="email", channel=channel, name="Open")
    open_address = intake.source_address(open_source)

    with smtplib.SMTP(*listener, timeout=10) as client:
        refused = client.send_message(
            mail("Disk full"), "monitor@ops.example.com", [address, open_address]
        )

    assert refused[address][0] == 550
    assert list(InboundMail.objects.values_list("source", flat=True)) == [open_source.pk]
