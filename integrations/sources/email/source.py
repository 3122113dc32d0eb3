"""E-mail as an alert source (the parser is in ``parser.py``, the listener in ``smtp.py``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from integrations.sources.email import options as mail_options
from integrations.sources.email import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import (
    DeclaredOption,
    OptionType,
    PushRequest,
    SetupGuide,
    Snippet,
    SourceKind,
    SourceRefused,
)

_SAMPLE_MAIL = (
    '{"subject": "[FIRING] Disk 91% full on db-1", "from": "monitor@example.com", '
    '"text": "Disk /var on db-1 is 91% full."}'
)


class EmailSource(SourceKind):
    kind = "email"
    label = _("E-mail")
    sender = _(
        "Any tool that sends alert e-mail, by SMTP to the source's own address (manage.py "
        "alert_smtpd); or an inbound-mail relay (SendGrid Inbound Parse, Mailgun routes, "
        "Postmark) posting to the source's relay URL"
    )
    identity = _(
        "The subject without its numbers, dates, times, hex ids and state words, so the same "
        "problem merges (or the options' key_pattern)"
    )
    recovery = _(
        "A recovery word in the subject: resolved, recovered, OK, 恢复... (recovery_words)"
    )
    severity_table = ((_("every mail, unless `severity_words` match"), Severity.WARNING),)
    # Relays post form fields (Mailgun always, SendGrid as multipart: see views.relay).
    form_body = True

    def parse(self, payload: Any) -> list[AlertEvent]:
        return self.parse_push(payload, PushRequest.bare())

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        if push.secret:
            _check_mailgun_signature(payload, push.secret)
        mail = parser.relay_mail(payload)
        options = mail_options.read_options(push.options)
        # A push over a URL (a relay's post) has a source_id; the SMTP door's reading has none,
        # its envelope sender was checked at RCPT (intake.recipient).
        if push.source_id is not None:
            _check_sender(parser.relay_sender(payload, mail), options)
        return parser.mail_events(mail, options)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        relay_url = relay_url_of(push_url)
        return SetupGuide(
            [
                str(_("Save the source: its own e-mail address is shown here.")),
                str(
                    _(
                        "Have the tool send its alert e-mail to that address: the subject "
                        "becomes the alert's title, the body its description."
                    )
                ),
                str(
                    _(
                        "Or let an inbound-mail relay post each mail to {url} (SendGrid "
                        "Inbound Parse: the destination URL; Mailgun: a route that forwards "
                        "to it, or to {url}/mime for the raw message)."
                    ).format(url=relay_url)
                ),
            ],
            [
                Snippet(
                    str(_("Post a test mail as a relay would")),
                    "sh",
                    f"curl -sS '{relay_url}' -H 'Content-Type: application/json' "
                    f"-d '{_SAMPLE_MAIL}'",
                )
            ],
        )

    def source_setup_guide(self, source: Any) -> SetupGuide:
        """The guide with this source's address in it, first (``intake`` makes the address
        the first time it is asked for)."""
        from integrations.sources.email.intake import source_address  # needs the app's models

        address = source_address(source)
        guide = self.setup_guide(source.push_url)
        first = str(_("Send alert e-mail to {address}.").format(address=address))
        snippets = [
            Snippet(str(_("E-mail address")), "text", address),
            Snippet(str(_("Send a test mail (swaks)")), "sh", swaks_line(address)),
        ]
        return SetupGuide([first, *guide.steps[1:]], [*snippets, *guide.snippets])

    def default_options(self) -> dict[str, Any]:
        return mail_options.default_options()

    def clean_options(self, options: Any) -> dict[str, Any]:
        return mail_options.clean_options(options)

    def declared_options(self) -> Sequence[DeclaredOption]:
        return (
            DeclaredOption(
                "recovery_words",
                _("Recovery words"),
                OptionType.WORDS,
                _("A subject with one of these words resolves the alert."),
            ),
            DeclaredOption(
                "severity_words",
                _("Severity words"),
                OptionType.SEVERITY_WORDS,
                _("The most urgent severity with a word in the subject wins; none: Warning."),
            ),
            DeclaredOption(
                "search_body",
                _("Look in the body too"),
                OptionType.YES_NO,
                _("Look for severity words in the body too."),
            ),
            DeclaredOption(
                "identity",
                _("Identity"),
                OptionType.CHOICE,
                _("What makes two mails the same alert."),
                [
                    ("subject", _("the subject, normalised")),
                    ("message", _("each mail a new alert")),
                ],
            ),
            DeclaredOption(
                "key_pattern",
                _("Key pattern"),
                OptionType.TEXT,
                _(
                    "A regular expression searched in the subject: its first group (else the "
                    "match) is the alert's identity."
                ),
            ),
            DeclaredOption(
                "allowed_senders",
                _("Allowed senders"),
                OptionType.WORDS,
                _(
                    "Addresses and @domain entries whose mail is taken (none: anyone's), "
                    "checked against the envelope sender (MAIL FROM), which the sender "
                    "chooses: it keeps stray mail out, it does not prove who sent it."
                ),
            ),
        )

    def options_help(self) -> str:
        words = _(
            "recovery_words: subject words that resolve the alert. severity_words: "
            '{"critical": [...], "info": [...]}, subject words that set the severity '
            "(none: Warning). search_body: look for severity words in the body too. "
            'identity: "subject" (the same problem merges) or "message" (every mail a '
            "new alert). key_pattern: a regular expression whose first group in the "
            "subject is the alert's identity."
        )
        senders = _(
            "allowed_senders: addresses and @domain entries whose mail is taken (empty: "
            "anyone's), checked against the envelope sender (MAIL FROM), which the sender "
            "chooses: it keeps stray mail out, it does not prove who sent it."
        )
        return f"{words} {senders}"

    def urls(self) -> Sequence[URLPattern]:
        from integrations.sources.email import views

        return [
            path("<str:token>", views.relay, name="email-relay"),
            # Mailgun posts the raw message (body-mime) only to a URL that ends in "mime".
            path("<str:token>/mime", views.relay, name="email-relay-mime"),
        ]


def relay_url_of(push_url: str) -> str:
    """The relay door of the source with this push URL: ``.../push/email/<token>``."""
    base, _, token = push_url.rpartition("/push/")
    return f"{base}/push/email/{token}"


def swaks_line(address: str) -> str:
    """A test mail to ``address``: to the listener itself, or, when it listens on every
    interface (production, behind the MX), by the domain's MX as any sender would."""
    host, port = settings.ALERT_SMTPD_HOST, settings.ALERT_SMTPD_PORT
    server = "" if host in {"", "0.0.0.0", "::"} else f"--server {host}:{port} "  # noqa: S104
    return (
        f"swaks {server}--to {address} "
        "--header 'Subject: [FIRING] Disk 91% full on db-1' "
        "--body 'Disk /var on db-1 is 91% full.'"
    )


def _check_sender(sender: str, options: mail_options.MailOptions) -> None:
    if not options.allows(sender):
        who = f"The sender {sender}" if sender else "A mail without a sender"
        raise SourceRefused(
            403,
            "sender_not_allowed",
            f"{who} is not among this source's allowed_senders: the mail is refused.",
        )


def _check_mailgun_signature(payload: Any, secret: str) -> None:
    """With a signing secret set, a relayed mail must carry Mailgun's signature: the HMAC-SHA256
    of ``timestamp`` + ``token`` under the domain's webhook signing key
    (https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/receive-http).
    """
    fields = payload if isinstance(payload, Mapping) else {}
    timestamp, token, signature = (
        str(fields.get(name) or "") for name in ("timestamp", "token", "signature")
    )
    if not (timestamp and token and signature):
        raise SourceRefused(
            401,
            "signature_missing",
            "This source has a signing secret: post through Mailgun, whose timestamp, token "
            "and signature fields are checked against it.",
        )
    expected = hmac.new(secret.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature.lower()):
        raise SourceRefused(
            401, "invalid_signature", "The Mailgun signature does not match the signing secret."
        )
