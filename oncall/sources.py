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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cache
from typing import Any, ClassVar, NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, include, path
from django.utils.module_loading import import_string

from oncall.events import AcceptResult, AlertEvent, PayloadError


class Answer(NamedTuple):
    """An HTTP status and the JSON body to send back to the sender."""

    status: int
    body: dict[str, Any]


def console_error(status: int, code: str, message: str, **extra: Any) -> Answer:
    """The console's own error shape: ``{"error": {"code", "message", ...}}``."""
    return Answer(status, {"error": {"code": code, "message": message, **extra}})


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

    @abstractmethod
    def parse(self, payload: Any) -> list[AlertEvent]:
        """The events of one request's decoded JSON body. Pure: no database, no settings.

        Raises :class:`~oncall.events.PayloadError` (naming the field) for anything the console
        cannot use; an empty list means "understood, nothing to act on"."""

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
