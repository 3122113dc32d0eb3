"""The alert-source contract and its registry.

Every kind of inbound alert source (the console's standard protocol, Alertmanager, Grafana,
PagerDuty Events v2, ...) lives in its own folder under ``integrations/sources/<kind>/`` and
fulfils :class:`SourceKind`: it parses a request's JSON into normalised events, says how to
answer the sender, and declares any URL of its own. The core asks the registry and never names
a source: ``settings.ALERT_SOURCES`` maps each kind to the dotted path of its class, imported
the first time the kind is needed.

What the core does with a source, in request order (``oncall.views.push``, ``oncall.ingest``):

1. ``parse(payload)`` the decoded JSON into events, or raise ``PayloadError``;
2. ``truncated_count(payload)`` to tell the sender how many alerts it left out;
3. answer with ``accepted_answer(result)``, or ``invalid_answer(error)`` for a ``PayloadError``;
4. ``urls()`` are mounted under ``push/<kind>/`` by the core URLconf (:func:`source_urls`).

Some senders need more than their body read (contract v2, every hook optional):

* ``parse_push(payload, push)`` sees the request's headers, query string, raw body and the
  source's own ``options`` and ``signing_secret`` (:class:`PushRequest`): a signature to check
  (raise :class:`SourceRefused` for a 401 / 403), a mapping the admin wrote;
* ``handshake(payload, push)`` answers a sender's control message (SNS's subscription
  confirmation, a test ping) without storing anything; ``answer_get(push)`` answers a sender
  that checks its URL with GET (a heartbeat ping);
* ``form_body`` says the sender posts ``application/x-www-form-urlencoded`` fields, and
  ``get_body`` that it calls back with GET and its fields in the query string;
* ``recognises(payload)`` lets the core tell a sender that posted to the wrong kind what its
  payload looks like ("this looks like a Zabbix payload; this source expects Sentry");
* ``sender``, ``identity``, ``recovery``, ``severity_table`` and ``setup_guide(push_url)`` are
  what the admin page and the README's kinds list (``python3 dev.py kinds``) show;
* ``default_options`` / ``clean_options`` / ``options_help`` validate ``AlertSource.options``,
  the kind's own settings.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, NamedTuple

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.urls import URLPattern, URLResolver, include, path
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from oncall.events import AcceptResult, AlertEvent, PayloadError, Severity

logger = logging.getLogger(__name__)


class Answer(NamedTuple):
    """An HTTP status and the JSON body to send back to the sender."""

    status: int
    body: dict[str, Any]


def console_error(status: int, code: str, message: str, **extra: Any) -> Answer:
    """The console's own error shape: ``{"error": {"code", "message", ...}}``."""
    return Answer(status, {"error": {"code": code, "message": message, **extra}})


class PushRequest(NamedTuple):
    """What a source may read of a push besides its decoded body."""

    #: Header names in lower case (``content-type``, ``sentry-hook-signature``).
    headers: Mapping[str, str]
    #: The URL's query string; the last value wins for a repeated name.
    query: Mapping[str, str]
    #: ``AlertSource.options``: the kind's own settings, checked by ``clean_options``.
    options: Mapping[str, Any]
    #: ``AlertSource.signing_secret``, decrypted; ``""`` when none is set.
    secret: str
    raw_body: bytes
    #: The pushing ``AlertSource``'s primary key, for work a source hands to a task (an SNS
    #: subscription confirmation, noted on the source's recent events) or state it keeps per
    #: source (a heartbeat's pings); ``None`` when the push came over no source's URL.
    source_id: int | None = None

    @classmethod
    def bare(cls, options: Mapping[str, Any] | None = None, secret: str = "") -> PushRequest:
        """A push with no headers, query or raw body (tests, the e-mail listener)."""
        return cls({}, {}, options or {}, secret, b"")

    @classmethod
    def of_source(cls, source: Any, raw_body: bytes = b"") -> PushRequest:
        """A push of ``source`` (an ``AlertSource``) that came with no headers or query: its
        options, secret and id, for events that did not arrive over the push view."""
        return cls({}, {}, source.options or {}, source.signing_secret or "", raw_body, source.pk)


class SourceRefused(Exception):
    """A source refuses a push it authenticated but will not take (a wrong signature: 401; a
    request that is not for it: 403). Nothing is stored; ``refused_answer`` shapes the reply."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Snippet(NamedTuple):
    """A block the admin copies into the sender: a curl line, YAML, a script."""

    title: str
    language: str  # "sh", "yaml", "json", "javascript", ... (for the reader; nothing highlights)
    text: str


class SetupGuide(NamedTuple):
    """How to point the sender at the console: short steps, then copyable snippets."""

    steps: Sequence[str]
    snippets: Sequence[Snippet] = ()


def curl_snippet(push_url: str, body: str) -> Snippet:
    """A curl line posting ``body`` (JSON text) to the push URL: a test the admin can run."""
    quoted = body.replace("'", "'\\''")
    return Snippet(
        str(_("Send a test event")),
        "sh",
        f"curl -sS '{push_url}' -H 'Content-Type: application/json' -d '{quoted}'",
    )


class OptionsForm(forms.Form):
    """Plain fields for a kind's options, which the admin page shows instead of the options'
    JSON (a mapping editor, say). The admin adds these fields to the source's form and, on
    save, turns their values into ``AlertSource.options`` with :meth:`options_from`."""

    @classmethod
    def initial_from(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """The fields' values for stored ``options``."""
        raise NotImplementedError

    @classmethod
    def options_from(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """The options the fields' cleaned ``values`` say, checked as ``clean_options``
        checks them. Raises ``ValidationError`` with a dict naming the fields at fault."""
        raise NotImplementedError


class OptionType(models.TextChoices):
    """How the admin page edits one declared option (``SourceKind.declared_options``)."""

    TEXT = "text"
    WHOLE_NUMBER = "whole_number"
    YES_NO = "yes_no"
    CHOICE = "choice"
    WORDS = "words"  # a list of words, one a row
    SEVERITY_WORDS = "severity_words"  # {"critical": [words], ...}: one (word, severity) a row


@dataclass(frozen=True)
class DeclaredOption:
    """One of a kind's options as the admin page shows it: a plain field named after the
    option, its value stored under ``name`` in ``AlertSource.options`` as the kind's
    ``clean_options`` takes it (the REST API's JSON is the same)."""

    name: str
    label: Any
    type: OptionType
    help_text: Any = ""
    choices: Sequence[tuple[str, Any]] = ()


class SourceKind(ABC):
    """The contract of one kind of alert source. Subclass it, set ``kind`` and ``label``,
    implement :meth:`parse`; override the answers or :meth:`urls` only where the sender expects
    something other than the console's defaults.

    Sources import the core (``oncall.events``, this module, ``oncall.views.push`` for their own
    views); the core imports no source, and no source imports a chat platform.
    """

    #: The value stored in ``AlertSource.kind`` and the key in ``settings.ALERT_SOURCES``.
    kind: ClassVar[str]
    #: The human name shown in the admin's kind choices.
    label: ClassVar[str]
    #: For the admin page and the README's kinds list, one short sentence each: what sends
    #: it, which fields make the alert's identity, how a recovery is recognised.
    sender: ClassVar[str] = ""
    identity: ClassVar[str] = ""
    recovery: ClassVar[str] = ""
    #: The sender's severity values and what they become (the knowledge base's table).
    severity_table: ClassVar[Sequence[tuple[str, Severity]]] = ()
    #: The sender posts ``application/x-www-form-urlencoded`` fields, read as ``dict[str, str]``
    #: (JSON bodies are still read as JSON).
    form_body: ClassVar[bool] = False
    #: The sender calls its callback URL with GET and the fields in the query string
    #: (Open-Falcon's alarm module): such a GET is a push whose body is the query's fields as
    #: ``dict[str, str]`` (the push token's ``integration_key`` left out), parsed, stored and
    #: answered as a POST is. A GET with no other field is still :meth:`answer_get`'s.
    get_body: ClassVar[bool] = False

    @abstractmethod
    def parse(self, payload: Any) -> list[AlertEvent]:
        """The events of one request's decoded JSON body. Pure: no database, no settings.

        Raises :class:`~oncall.events.PayloadError` (naming the field) for anything the console
        cannot use; an empty list means "understood, nothing to act on"."""

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        """The events of one push, for a source that needs more than the body (headers, query,
        its options or secret). Raises ``PayloadError`` or :class:`SourceRefused`."""
        return self.parse(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        """The answer to a sender's control message (a subscription confirmation, a test
        ping), which is answered without storing anything; ``None`` for an ordinary push."""
        return None

    def answer_get(self, push: PushRequest) -> Answer | None:
        """The answer to a GET on the push URL (a sender that checks its URL, a heartbeat
        ping); ``None``: GET is refused with a 405 like any other method but POST."""
        return None

    def recognises(self, payload: Any) -> bool:
        """Whether ``payload`` is, by its distinctive fields, what this kind's sender posts.
        Cheap and never raises: the core asks every kind when a push was refused, to tell the
        sender which kind its payload looks like."""
        return False

    def setup_guide(self, push_url: str) -> SetupGuide:
        """How to configure the sender, with the push URL filled in (the admin page)."""
        return SetupGuide(
            [
                str(
                    _("In the sender, add a webhook that POSTs JSON to the push URL: {url}").format(
                        url=push_url
                    )
                ),
            ]
        )

    def source_setup_guide(self, source: Any) -> SetupGuide:
        """The guide of one saved ``AlertSource`` (the admin page, the API): :meth:`setup_guide`
        with its push URL, unless the kind has more of the source's own to show, such as an
        e-mail source's address (each snippet gets a Copy button)."""
        return self.setup_guide(source.push_url)

    def default_options(self) -> dict[str, Any]:
        """``AlertSource.options`` for a new source of this kind."""
        return {}

    def clean_options(self, options: Any) -> dict[str, Any]:
        """``options`` checked for this kind (raise ``ValidationError`` with the reason). A
        kind without settings takes none."""
        if options not in ({}, None):
            raise ValidationError(_("This kind of source has no options: leave them empty."))
        return {}

    def options_help(self) -> str:
        """What this kind's options mean, shown under the field."""
        return ""

    def options_form(self) -> type[OptionsForm] | None:
        """Plain fields for the options on the admin page, for options that
        ``declared_options`` cannot say (a mapping editor); ``None``: the declared options'
        fields, else the options' JSON."""
        return None

    def declared_options(self) -> Sequence[DeclaredOption]:
        """The options, each a plain field on the admin page (generated by the admin)."""
        return ()

    def periodic_tasks(self) -> dict[str, dict[str, Any]]:
        """Celery beat entries (name -> {"task", "schedule"}) of a source that watches for
        something that did not come (a heartbeat's sweep), merged into the console's."""
        return {}

    def status(self, source: Any) -> Sequence[tuple[str, str]]:
        """Rows (label, value) the source's admin page shows about its state now, for a kind
        that keeps state of its own (a heartbeat: its last ping). ``source`` is the
        ``AlertSource``."""
        return ()

    def refused_answer(self, error: SourceRefused) -> Answer:
        """The answer to a push :meth:`parse_push` refused (401 / 403)."""
        return console_error(error.status, error.code, error.message)

    def truncated_count(self, payload: Any) -> int:
        """How many alerts the sender left out of this batch (Alertmanager's
        ``truncatedAlerts``); the push answer and the recent events say so."""
        return 0

    def accepted_answer(self, result: AcceptResult) -> Answer:
        """The answer to a stored push: 200 with the request id and the alert keys.

        ``accepted`` counts routed events; an event that matched no route is listed in
        ``unrouted`` instead."""
        return Answer(
            200,
            {
                "request_id": result.request_id,
                "accepted": len(result.events) - len(result.unrouted),
                "alert_keys": [event.alert_key for event in result.events],
                "unrouted": result.unrouted,
                "notes": result.notes,
            },
        )

    def invalid_answer(self, error: PayloadError) -> Answer:
        """The answer to a payload :meth:`parse` refused: 400 naming the field."""
        return console_error(400, "invalid_payload", error.message, field=error.field)

    def urls(self) -> Sequence[URLPattern | URLResolver]:
        """URL patterns of the source's own, mounted under ``push/<kind>/`` (for a sender whose
        URL shape is fixed, such as PagerDuty's ``/v2/enqueue``). Most sources need none: every
        kind is served by ``push/<token>``."""
        return ()


class UnknownSourceKind(LookupError):
    pass


def source_kind(kind: str) -> SourceKind:
    """The source registered for ``kind`` in ``settings.ALERT_SOURCES``."""
    try:
        dotted_path = settings.ALERT_SOURCES[kind]
    except KeyError:
        raise UnknownSourceKind(kind) from None
    return _load(kind, dotted_path)


def source_kinds() -> list[SourceKind]:
    """Every registered source, in the order of ``settings.ALERT_SOURCES``."""
    return [source_kind(kind) for kind in settings.ALERT_SOURCES]


def kinds_recognising(payload: Any, *, besides: str) -> list[SourceKind]:
    """The registered kinds other than ``besides`` that recognise ``payload`` as theirs."""
    found = []
    for source in source_kinds():
        if source.kind == besides:
            continue
        try:
            if source.recognises(payload):
                found.append(source)
        except Exception:  # a hint must never turn a 400 into a 500
            logger.exception("%s.recognises raised", source.kind)
    return found


def wrong_kind_hint(payload: Any, kind: SourceKind) -> str:
    """``"This looks like a Zabbix payload; this source expects Sentry."``, or ``""``."""
    others = kinds_recognising(payload, besides=kind.kind)
    if not others:
        return ""
    names = " or ".join(str(other.label) for other in others[:3])
    return str(
        _("This looks like a {others} payload; this source expects {kind}.").format(
            others=names, kind=kind.label
        )
    )


def kinds_table() -> str:
    """The README's kinds list (``python3 dev.py kinds``), from the registered classes."""
    with translation.override("en"):  # the README is in English, whatever the shell's language
        return _kinds_table()


def _kinds_table() -> str:
    rows = [
        "| kind | sender | identity (`alert_key`) | severity | recovery |",
        "|---|---|---|---|---|",
    ]
    for source in source_kinds():
        severities = ", ".join(
            f"{raw} → {Severity(severity).value}" for raw, severity in source.severity_table
        )
        cells = [f"`{source.kind}`", str(source.sender or source.label), str(source.identity)]
        cells += [severities, str(source.recovery)]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def source_kind_choices() -> list[tuple[str, str]]:
    """``AlertSource.kind``'s choices (a callable, so the migration names no source)."""
    return [(source.kind, source.label) for source in source_kinds()]


def source_urls() -> list[URLResolver]:
    """The URLs the registered sources declare, each under ``push/<kind>/``."""
    return [
        path(f"push/{source.kind}/", include(list(patterns)))
        for source in source_kinds()
        if (patterns := source.urls())
    ]


@cache
def _load(kind: str, dotted_path: str) -> SourceKind:
    # Keyed by the path too, so that tests overriding the setting get what they listed.
    source_class = import_string(dotted_path)
    if not (isinstance(source_class, type) and issubclass(source_class, SourceKind)):
        raise ImproperlyConfigured(
            f"ALERT_SOURCES[{kind!r}] = {dotted_path!r} is not a subclass of "
            "oncall.sources.SourceKind"
        )
    source = source_class()
    if source.kind != kind:
        raise ImproperlyConfigured(
            f"ALERT_SOURCES lists {dotted_path!r} as {kind!r}, but its kind is {source.kind!r}"
        )
    return source
