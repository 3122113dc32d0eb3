"""The e-mail source's parser (pure: fixtures through parse / parse_push, raw messages through
read_mime, subjects through identity), its options, and the relay door through the test client
into incidents. The SMTP door is in test_email_smtp.py."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from integrations.sources.email import intake
from integrations.sources.email.mime import html_to_text, read_mime
from integrations.sources.email.models import InboundMail
from integrations.sources.email.options import DEFAULT_RECOVERY_WORDS, read_options
from integrations.sources.email.parser import mail_events, relay_mail, relay_sender
from integrations.sources.email.subject import TRIGGER_WORDS, find_word, identity
from oncall import jsonbody
from oncall.events import MAX_DESCRIPTION_CHARS, EventKind, PayloadError, Severity
from oncall.models import Alert, InboundEvent, Incident
from oncall.sources import PushRequest, SourceRefused, source_kind
from tests.factories import AlertSourceFactory

MAIL_FIXTURES = Path(__file__).resolve().parents[2] / "integrations/sources/email/fixtures/mail"
STATE_WORDS = [*TRIGGER_WORDS, *DEFAULT_RECOVERY_WORDS]


@pytest.fixture
def email():
    return source_kind("email")


def raw(name: str) -> bytes:
    return (MAIL_FIXTURES / name).read_bytes()


def events_of(payload, **options):
    return source_kind("email").parse_push(payload, PushRequest.bare(options))


# --- identity ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("CPU at 95% on db-1 since 16:45:01", "CPU at 97% on db-1 since 16:52:40"),
        ("[FIRING:2] Disk full (event 0x7f3a9c21)", "[RESOLVED] Disk full (event 0x7f3a9d07)"),
        ("Problem: High CPU on web01", "Resolved in 12m 40s: High CPU on web01"),
        ("Backup failed on 2026-12-03T04:00:00Z, job #4411", "Backup OK on 2026-12-04, job #4412"),
        (
            "Job 3c1f0e2a-1b2c-4d5e-8f90-123456789abc stuck",
            "Job 9d8e7f6a-1b2c-4d5e-8f90-a1b2c3d4e5f6 stuck",
        ),
        ("Re: Fwd: Queue depth 18234 on mq-2", "Queue depth 310 on mq-2"),
        (
            "** PROBLEM Service Alert: db-1/Disk is CRITICAL **",
            "** RECOVERY Service Alert: db-1/Disk is OK **",
        ),
        (
            "【告警】数据库 db-1 CPU 使用率 95% 2026年12月3日",
            "【已恢复】数据库 db-1 CPU 使用率 40%",
        ),
        ("Sync lag on Thu, 3 Dec 2026 16:45", "Sync lag on Fri, 4 Dec 2026 09:00"),
    ],
)
def test_it_gives_the_same_problem_the_same_identity(first, second):
    assert identity(first, STATE_WORDS) == identity(second, STATE_WORDS)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Disk full on db-1", "Disk full on db-2"),
        ("Disk full on web01", "Disk full on web02"),
        ("Backup of 10.0.0.7 failed", "Backup of 10.0.0.8 failed"),
        ("Alert on db-1: disk full", "Alert on db-2: disk full"),
        ("Disk full", "Memory full"),
    ],
)
def test_it_keeps_different_problems_apart(first, second):
    assert identity(first, STATE_WORDS) != identity(second, STATE_WORDS)


def test_it_finds_ascii_words_whole_and_chinese_words_anywhere():
    assert find_word("[OK] disk", ["ok"]) == "ok"
    assert find_word("token expired", ["ok"]) == ""
    assert find_word("数据库已恢复", ["恢复"]) == "恢复"
    assert find_word("RESOLVED: disk", ["resolved"]) == "resolved"


# --- raw messages ------------------------------------------------------------------------------


def test_it_prefers_the_text_part_to_the_html_part():
    mail = read_mime(raw("firing.eml"))

    assert mail.subject == "** PROBLEM Service Alert: db-1/Disk /var is CRITICAL **"
    assert mail.sender == "nagios@ops.example.com"
    assert mail.text.startswith("***** Nagios *****\n\nNotification Type: PROBLEM")
    assert "<p>" not in mail.text
    assert mail.message_id == "nagios.4411.1796316301@ops.example.com"
    assert mail.date.isoformat() == "2026-12-03T16:45:01+00:00"
    assert mail.notes == ()


def test_it_turns_an_html_only_body_into_text():
    mail = read_mime(raw("html_only.eml"))

    assert mail.text == (
        "Sauvegarde échouée\n\nJob 7731 on 10.0.0.9: disk quota exceeded.\nRetry at 05:00."
    )


def test_html_to_text_drops_scripts_and_styles_and_decodes_entities():
    html = "<style>p{}</style><p>a &amp; b</p><script>x()</script><ul><li>one</li><li>two</li>"

    assert "a & b" in html_to_text(html)
    assert "x()" not in html_to_text(html)
    assert "p{}" not in html_to_text(html)


def test_it_counts_attachments_and_drops_them():
    [event] = mail_events(read_mime(raw("attachment.eml")), read_options({}))

    assert event.labels["attachment_stripped"] == "true"
    assert event.description == "The certificate of api.example.com expires on 2026-12-09."


def test_it_reads_a_broken_message_as_far_as_it_goes_and_says_so():
    mail = read_mime(raw("broken_mime.eml"))

    assert mail.subject == "ALERT queue depth 18234 on mq-2"
    assert mail.text  # the undecodable part, as it came
    assert any("CloseBoundaryNotFoundDefect" in note for note in mail.notes)
    assert any("x-unknown-charset" in note for note in mail.notes)


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"Subject: =?utf-8?q?broken\r\n\r\nbody",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--",
        b"From: <<<@@@>>>\r\nSubject: only headers",
        b"Subject: " + b"x" * 100_000,
        b"Subject: =?utf-8?q?a=00b=ED=A0=80?=\r\nFrom: <a\x00@b>\r\n\r\nbody\x00\xff",
        b"Subject: x\r\nContent-Type: text/plain; charset=utf-16\r\n\r\n\x00\xd8\x00a",
    ],
)
def test_reading_a_message_never_raises_and_gives_storable_text(junk):
    mail = read_mime(junk)

    [event] = mail_events(mail, read_options({}))
    assert event.title
    texts = [event.title, event.description, *event.labels.values()]
    assert not any(jsonbody.unstorable(text) for text in texts)


def test_a_long_body_is_cut_and_labelled():
    mail = read_mime(b"Subject: Big\r\n\r\n" + b"line of text\r\n" * 3000)

    [event] = mail_events(mail, read_options({}))

    assert len(event.description) == MAX_DESCRIPTION_CHARS
    assert event.labels["body_cut"] == "true"


# --- the relay fixtures ------------------------------------------------------------------------


def test_sendgrids_parsed_post_fires_a_warning(load_fixture):
    [event] = events_of(load_fixture("email/firing_sendgrid"))

    assert event.kind == EventKind.FIRING
    assert event.severity == Severity.WARNING
    assert event.title == "Problem: High CPU load on web-3"
    assert event.description.startswith("Problem started at 16:45:01 on 2026.12.03\n")
    assert event.labels == {"from": "zabbix@ops.example.com"}


def test_mailguns_recovery_resolves_the_same_alert(load_fixture):
    [firing] = events_of(load_fixture("email/firing_sendgrid"))
    [resolved] = events_of(load_fixture("email/recovered_mailgun"))

    assert resolved.kind == EventKind.RESOLVED
    assert resolved.alert_key == firing.alert_key
    assert resolved.ends_at.isoformat() == "2026-12-03T16:57:41+08:00"


def test_postmarks_html_only_post_is_read_as_text(load_fixture):
    [event] = events_of(load_fixture("email/html_only_postmark"))

    assert event.title == "[FIRING:2] Disk usage above 90% (db-1 /var)"
    assert "track()" not in event.description
    assert "Value: 91.4 & rising" in event.description
    assert event.labels["attachment_stripped"] == "true"


def test_a_raw_message_posted_by_a_relay_is_read_like_smtp_mail(load_fixture):
    [event] = events_of(load_fixture("email/raw_mime_chinese_sendgrid"))

    assert event.title == "【已恢复】数据库 db-1 CPU 使用率 40%"
    assert event.kind == EventKind.RESOLVED
    assert event.description == "数据库 db-1 的 CPU 使用率已恢复到 40%。"
    assert event.labels["from"] == "monitor@ops.example.cn"


@pytest.mark.parametrize(
    ("case", "field"), [("invalid_not_a_mail", "subject"), ("invalid_not_an_object", None)]
)
def test_a_post_that_is_no_mail_is_refused_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        events_of(load_fixture(f"email/{case}"))

    assert refused.value.field == field


@pytest.mark.parametrize("count", ["\x1f0", "²", "-1", True, "1e3", " 2 x"])
def test_an_attachment_count_that_is_no_count_is_passed_over(count):
    [event] = events_of({"subject": "Disk full", "text": "", "attachments": count})

    assert "attachment_stripped" not in event.labels


def test_a_field_of_the_wrong_type_is_passed_over_not_refused():
    [event] = events_of({"subject": {"text": "?"}, "text": "Disk /var is full.", "html": 7})

    assert event.title == "E-mail"
    assert event.description == "Disk /var is full."


# --- options -----------------------------------------------------------------------------------


def test_severity_words_set_the_severity_and_the_raw_word():
    payload = {"subject": "P1: checkout down", "text": ""}

    [event] = events_of(payload, severity_words={"critical": ["p1"], "info": ["notice"]})

    assert event.severity == Severity.CRITICAL
    assert event.raw_severity == "p1"


def test_severity_words_in_the_body_count_only_when_asked():
    payload = {"subject": "checkout", "text": "Severity: disaster"}
    words = {"critical": ["disaster"]}

    assert events_of(payload, severity_words=words)[0].severity == Severity.WARNING
    [event] = events_of(payload, severity_words=words, search_body=True)
    assert event.severity == Severity.CRITICAL


def test_recovery_words_are_configurable():
    payload = {"subject": "checkout is back", "text": ""}

    assert events_of(payload)[0].kind == EventKind.FIRING
    assert events_of(payload, recovery_words=["is back"])[0].kind == EventKind.RESOLVED


def test_a_key_pattern_makes_the_identity():
    first = {"subject": "Ticket INC-4411 opened: disk full", "text": ""}
    second = {"subject": "Ticket INC-4411 closed (resolved)", "text": ""}

    keys = {events_of(p, key_pattern=r"(INC-\d+)")[0].alert_key for p in (first, second)}

    assert len(keys) == 1


def test_every_mail_is_its_own_alert_when_asked():
    payload = {"subject": "Disk full", "text": ""}

    one = events_of({**payload, "message_id": "<a@x>"}, identity="message")[0]
    two = events_of({**payload, "message_id": "<b@x>"}, identity="message")[0]

    assert one.alert_key != two.alert_key


@pytest.mark.parametrize(
    "options",
    [
        {"recovery_words": "resolved"},
        {"severity_words": {"urgent": ["p1"]}},
        {"severity_words": ["p1"]},
        {"search_body": "yes"},
        {"identity": "thread"},
        {"key_pattern": "(unclosed"},
        {"colour": "red"},
        "not an object",
    ],
)
def test_bad_options_are_refused_with_a_reason(email, options):
    with pytest.raises(ValidationError) as refused:
        email.clean_options(options)

    assert refused.value.messages[0]


def test_the_default_options_are_complete(email):
    assert email.clean_options({}) == email.default_options()


# --- allowed_senders ---------------------------------------------------------------------------


def test_allowed_senders_default_to_anyone(email):
    assert email.default_options()["allowed_senders"] == []
    assert read_options({}).allows("anyone@anywhere.example")
    assert read_options({}).allows("")


def test_allowed_senders_are_kept_casefolded_without_repeats(email):
    cleaned = email.clean_options(
        {"allowed_senders": [" Zabbix@Ops.Example.com ", "@Example.ORG", "zabbix@ops.example.com"]}
    )

    assert cleaned["allowed_senders"] == ["zabbix@ops.example.com", "@example.org"]


@pytest.mark.parametrize(
    ("senders", "reason"),
    [
        ("zabbix@ops.example.com", "allowed_senders must be a list"),
        ([42], "allowed_senders must be a list"),
        (["zabbix"], "“zabbix” is neither an address"),
        (["a@b.example, c@d.example"], "is neither an address"),
        (["Zabbix <zabbix@ops.example.com>"], "is neither an address"),
        (["@"], "“@” is neither an address"),
        (["a@@b.example"], "is neither an address"),
        (["@example..com"], "is neither an address"),
        ([f"user{n}@example.com" for n in range(101)], "holds 101 entries; at most 100"),
    ],
)
def test_bad_allowed_senders_are_refused_with_a_reason(email, senders, reason):
    with pytest.raises(ValidationError) as refused:
        email.clean_options({"allowed_senders": senders})

    assert reason in refused.value.messages[0]


@pytest.mark.parametrize(
    ("sender", "allowed"),
    [
        ("zabbix@ops.example.com", True),
        ("ZABBIX@OPS.EXAMPLE.COM", True),
        ("<zabbix@ops.example.com>", True),
        ("grafana@monitoring.example.com", True),
        ("grafana@Monitoring.Example.com", True),
        ("grafana@ops.example.com", False),
        ("zabbix@eu.monitoring.example.com", False),  # a domain entry is that domain only
        ("zabbix@ops.example.com.evil.example", False),
        ("", False),
        ("monitoring.example.com", False),
    ],
)
def test_allowed_senders_match_addresses_and_domains(sender, allowed):
    options = read_options(
        {"allowed_senders": ["zabbix@ops.example.com", "@monitoring.example.com"]}
    )

    assert options.allows(sender) is allowed


@pytest.mark.parametrize(
    ("fixture", "sender"),
    [
        ("firing_sendgrid", "zabbix@ops.example.com"),  # its envelope's from
        ("recovered_mailgun", "zabbix@ops.example.com"),  # its sender
        ("html_only_postmark", "grafana@ops.example.com"),  # no envelope: its From
    ],
)
def test_a_relays_sender_is_its_envelope_sender_else_its_from(load_fixture, fixture, sender):
    payload = load_fixture(f"email/{fixture}")

    assert relay_sender(payload, relay_mail(payload)) == sender


def test_the_envelope_sender_wins_over_the_from_header(load_fixture):
    payload = {
        **load_fixture("email/firing_sendgrid"),
        "from": "Boss <boss@example.org>",
        "envelope": '{"to": ["x@alerts.example.com"], "from": "Bounces@Ops.Example.com"}',
    }

    assert relay_sender(payload, relay_mail(payload)) == "bounces@ops.example.com"


def test_a_relayed_mail_from_another_sender_is_refused_with_403(email, load_fixture):
    push = PushRequest.bare({"allowed_senders": ["@monitoring.example.com"]})._replace(source_id=1)

    with pytest.raises(SourceRefused) as refused:
        email.parse_push(load_fixture("email/firing_sendgrid"), push)

    assert (refused.value.status, refused.value.code) == (403, "sender_not_allowed")
    assert "zabbix@ops.example.com is not among this source's allowed_senders" in (
        refused.value.message
    )


def test_the_smtp_doors_reading_is_not_checked_again(email, load_fixture):
    # The listener checked the envelope sender at RCPT; the worker's push has no source_id.
    push = PushRequest.bare({"allowed_senders": ["@monitoring.example.com"]})

    [event] = email.parse_push(load_fixture("email/firing_sendgrid"), push)

    assert event.title == "Problem: High CPU load on web-3"


# --- Mailgun's signature -----------------------------------------------------------------------


def signed(secret: str, payload: dict) -> dict:
    digest = hmac.new(secret.encode(), b"1796287061tok3n", hashlib.sha256).hexdigest()
    return {**payload, "timestamp": "1796287061", "token": "tok3n", "signature": digest}


def test_with_a_signing_secret_a_mailgun_signature_is_checked(email, load_fixture):
    payload = load_fixture("email/recovered_mailgun")
    push = PushRequest.bare({}, secret="mailgun-key")

    assert email.parse_push(signed("mailgun-key", payload), push)
    with pytest.raises(SourceRefused) as wrong:
        email.parse_push(signed("another-key", payload), push)
    assert wrong.value.status == 401
    with pytest.raises(SourceRefused) as missing:
        email.parse_push({"subject": "x", "text": "y"}, push)
    assert missing.value.code == "signature_missing"


# --- the relay door, through the test client ---------------------------------------------------


@pytest.fixture
def source(channel):
    return AlertSourceFactory(kind="email", channel=channel)


def relay(client, django_capture_on_commit_callbacks, url, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(url, **kwargs)


@pytest.mark.django_db
def test_a_relays_json_post_opens_an_incident(
    client, django_capture_on_commit_callbacks, source, load_fixture
):
    response = relay(
        client,
        django_capture_on_commit_callbacks,
        f"/push/email/{source.token}",
        data=json.dumps(load_fixture("email/firing_sendgrid")),
        content_type="application/json",
    )

    assert response.status_code == 200
    alert = Alert.objects.get()
    assert alert.title == "Problem: High CPU load on web-3"
    assert Incident.objects.get().channel == source.channel


@pytest.mark.django_db
def test_a_sendgrid_multipart_post_with_an_attachment_is_read(
    client, django_capture_on_commit_callbacks, source
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = relay(
        client,
        django_capture_on_commit_callbacks,
        f"/push/email/{source.token}",
        data={
            "subject": "Disk 91% full on db-1",
            "from": "Monitor <monitor@ops.example.com>",
            "text": "Disk /var on db-1 is 91% full.",
            "attachment1": SimpleUploadedFile("graph.png", b"\x89PNG", "image/png"),
        },
    )

    assert response.status_code == 200, response.json()
    alert = Alert.objects.get()
    assert alert.description == "Disk /var on db-1 is 91% full."
    assert alert.labels["attachment_stripped"] == "true"


@pytest.mark.django_db
def test_a_mailgun_form_post_resolves_what_sendgrid_fired(
    client, django_capture_on_commit_callbacks, source, load_fixture
):
    relay(
        client,
        django_capture_on_commit_callbacks,
        f"/push/{source.token}",
        data=json.dumps(load_fixture("email/firing_sendgrid")),
        content_type="application/json",
    )
    response = relay(
        client,
        django_capture_on_commit_callbacks,
        f"/push/email/{source.token}/mime",
        data=urlencode(load_fixture("email/recovered_mailgun")),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200, response.json()
    assert Alert.objects.get().status == Alert.Status.RESOLVED


@pytest.mark.django_db
def test_the_ordinary_push_url_takes_a_urlencoded_mail(
    client, django_capture_on_commit_callbacks, source
):
    response = relay(
        client,
        django_capture_on_commit_callbacks,
        f"/push/{source.token}",
        data=urlencode({"subject": "Disk full on db-1", "body-plain": "it is full"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert Alert.objects.get().description == "it is full"


@pytest.mark.django_db
@pytest.mark.parametrize("door", ["/push/email/{token}", "/push/{token}"])
def test_relayed_mail_from_a_sender_not_allowed_is_a_403_and_nothing_is_stored(
    client, django_capture_on_commit_callbacks, source, load_fixture, door
):
    source.options = {**source.options, "allowed_senders": ["@monitoring.example.com"]}
    source.save()

    response = relay(
        client,
        django_capture_on_commit_callbacks,
        door.format(token=source.token),
        data=urlencode(load_fixture("email/recovered_mailgun")),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "sender_not_allowed",
        "message": "The sender zabbix@ops.example.com is not among this source's "
        "allowed_senders: the mail is refused.",
    }
    assert not InboundEvent.objects.exists()
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_relayed_mail_from_an_allowed_sender_opens_an_incident(
    client, django_capture_on_commit_callbacks, source, load_fixture
):
    source.options = {**source.options, "allowed_senders": ["@OPS.example.com"]}
    source.save()

    response = relay(
        client,
        django_capture_on_commit_callbacks,
        f"/push/email/{source.token}",
        data=json.dumps(load_fixture("email/firing_sendgrid")),
        content_type="application/json",
    )

    assert response.status_code == 200, response.json()
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_the_relay_url_takes_only_email_sources(client, channel):
    other = AlertSourceFactory(kind="alertmanager", channel=channel)

    response = client.post(f"/push/email/{other.token}", data="{}", content_type="application/json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_source_kind"


@pytest.mark.django_db
def test_a_post_that_is_no_mail_gets_a_400_and_nothing_is_stored(client, source):
    response = client.post(
        f"/push/email/{source.token}",
        data=json.dumps({"from": "x@example.com"}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "subject"
    assert not InboundEvent.objects.exists()


# --- the stored mail's task, the sweep, the address on the admin page and the API --------------


@pytest.mark.django_db
def test_reading_a_stored_mail_happens_once(source, django_capture_on_commit_callbacks):
    recipient = intake.Recipient("x@example.com", source.pk)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        [mail_id] = intake.store(raw("firing.eml"), [recipient], envelope_from="", peer="")
    assert len(queued) == 1  # its task, once committed

    with django_capture_on_commit_callbacks(execute=True):
        assert intake.process(mail_id) is True
    assert intake.process(mail_id) is False

    assert InboundMail.objects.get().status == InboundMail.Status.PROCESSED
    assert Alert.objects.get().event_count == 1


@pytest.mark.django_db
def test_the_sweep_hands_out_a_mail_whose_task_was_lost(source, settings, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    recipient = intake.Recipient("x@example.com", source.pk)
    [mail_id] = intake.store(raw("firing.eml"), [recipient], envelope_from="", peer="")
    InboundMail.objects.filter(pk=mail_id).update(
        received_at=timezone.now() - timedelta(seconds=settings.INBOUND_EVENT_REQUEUE_SECONDS + 1)
    )
    handed_out = []
    monkeypatch.setattr(intake, "enqueue", handed_out.append)

    assert intake.sweep() == (1, 0)
    assert handed_out == [mail_id]


@pytest.mark.django_db
def test_the_admin_page_and_the_api_show_the_address(admin_client, source, settings):
    from tests.factories import api_as

    settings.ALERT_EMAIL_DOMAIN = "alerts.example.com"
    address = intake.source_address(source)

    page = admin_client.get(f"/admin/oncall/alertsource/{source.pk}/change/")
    assert address in page.content.decode()
    assert f"swaks --server 127.0.0.1:2525 --to {address}" in page.content.decode()

    body = (
        api_as(admin_client.get("/admin/").wsgi_request.user)
        .get(f"/api/v1/alert-sources/{source.public_id}/")
        .json()
    )
    assert body["setup"]["snippets"][0] == {
        "title": "E-mail address",
        "language": "text",
        "text": address,
    }


@pytest.mark.django_db
def test_the_token_in_the_relay_url_never_reaches_a_log_line(client, source, caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(
            f"/push/email/{source.token}/mime", data="{", content_type="application/json"
        )

    assert response.status_code == 400
    assert "Bad Request: /push/email/<token>/mime" in caplog.text
    assert source.token not in caplog.text


@pytest.mark.django_db
def test_the_admin_lists_received_mails_and_shows_one_as_it_came(admin_client, source):
    recipient = intake.Recipient("x@example.com", source.pk)
    [mail_id] = intake.store(raw("broken_mime.eml"), [recipient], envelope_from="", peer="")

    listing = admin_client.get("/admin/source_email/inboundmail/")
    page = admin_client.get(f"/admin/source_email/inboundmail/{mail_id}/change/")

    assert listing.status_code == 200
    assert str(len(raw("broken_mime.eml"))) in listing.content.decode()
    assert "UXVldWUgZGVwdGggMTgyMzQgb24gbXEtMiBleGNlZWRzIDEwMDAw" in page.content.decode()


@pytest.mark.django_db
def test_the_admin_rotates_an_address(admin_client, source):
    old = intake.source_address(source)
    address = source.mail_address

    response = admin_client.post(
        "/admin/source_email/mailaddress/",
        {"action": "rotate", "_selected_action": [address.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert intake.source_address(source) != old
    with pytest.raises(intake.Refused):
        intake.recipient(old)


# --- properties: no bytes break the reader, no request breaks the relay door --------------------

MIME_PIECES = st.sampled_from(
    [
        b"Subject: ",
        b"From: ",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: text/html; charset=x-nope\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"--b\r\n",
        b"--b--\r\n",
        b"=?utf-8?b?",
        b"=?utf-8?q?=00?=",
        b"\r\n",
        b"\r\n\r\n",
        b"<p>&amp;</p>",
        b"\x00",
        b"\xff\xfe",
    ]
)


@hypothesis_settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(pieces=st.lists(st.one_of(MIME_PIECES, st.binary(max_size=20)), max_size=30))
def test_no_bytes_break_the_mime_reader(pieces):
    [event] = mail_events(read_mime(b"".join(pieces)), read_options({}))

    texts = [event.title, event.description, *event.labels.values()]
    assert not any(jsonbody.unstorable(text) for text in texts)


@pytest.mark.django_db
def test_no_request_gets_a_5xx_from_the_relay_door(client, source, load_fixture):
    documents = [load_fixture(f"email/{name}") for name in ("firing_sendgrid", "recovered_mailgun")]
    content_types = [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/plain",
    ]

    @hypothesis_settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        document=st.sampled_from(documents),
        drop=st.sets(st.sampled_from(["subject", "text", "from", "body-plain", "html"])),
        junk=st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=3),
        content_type=st.sampled_from(content_types),
        raw=st.binary(max_size=100),
        suffix=st.sampled_from(["", "/mime"]),
    )
    def case(document, drop, junk, content_type, raw, suffix):
        fields = {k: v for k, v in document.items() if k not in drop} | junk
        if content_type == "application/json":
            body = json.dumps(fields).encode()
        elif content_type.startswith("application/x-www"):
            body = urlencode(fields).encode()
        else:
            body = raw
        response = client.generic(
            "POST", f"/push/email/{source.token}{suffix}", body, content_type=content_type
        )
        assert response.status_code < 500, (content_type, body[:200])

    case()


def test_the_options_help_explains_allowed_senders_in_both_languages(email):
    assert "allowed_senders: addresses and @domain entries" in email.options_help()
    assert "does not prove who sent it" in email.options_help()
    with translation.override("zh-hans"):
        assert "不能证明发件人的身份" in email.options_help()


@pytest.mark.django_db
def test_the_source_page_shows_allowed_senders_and_what_they_mean(admin_client, source):
    source.options = {**source.options, "allowed_senders": ["zabbix@ops.example.com"]}
    source.save()
    url = f"/admin/oncall/alertsource/{source.pk}/change/"

    page = admin_client.get(url).content.decode()

    assert 'name="option_allowed_senders-item"' in page  # one entry a row, not JSON
    assert 'value="zabbix@ops.example.com"' in page
    assert "it does not prove who sent it" in page
