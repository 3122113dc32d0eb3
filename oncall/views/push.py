"""The push endpoint every alert source posts to: ``POST /push/<token>``.

Monitoring systems want a fast answer and retry on 5xx, so this view only authenticates, parses,
routes and stores (see ``oncall.ingest.accept``); merging into incidents happens in a worker.
Anything it cannot use gets a 4xx JSON answer with the reason and nothing is stored. The answers
to a parsed push are the source's (``oncall.sources.SourceKind``); a source with a URL of its own
(PagerDuty's ``/v2/enqueue``) builds its view from ``require_post``, ``authenticate``,
``read_json`` and ``accept``. A change source's push (``oncall.change_events``) takes the same
door and is recorded as changes by ``oncall.changes.accept``: it never becomes an alert.

Bodies are read by ``oncall.jsonbody``, the one reader for the edge: JSON too deep or with
numbers Python cannot read is a 400 ``invalid_json`` with the reason, and text the console
cannot store (NUL, lone surrogates) is replaced with U+FFFD and noted on the stored push.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from oncall import changes, ingest, jsonbody, metrics
from oncall.change_events import ChangeSourceKind
from oncall.compiled_lookup import CompiledLookup
from oncall.events import PayloadError
from oncall.languages import Said, in_english
from oncall.models import AlertSource, RefusedPush
from oncall.models.sources import hash_token
from oncall.reconnect import once_more_if_connection_lost
from oncall.sources import (
    Answer,
    PushRequest,
    SourceKind,
    SourceRefused,
    console_error,
    source_kind,
    wrong_kind_hint,
)

# Refusals of a push's body, kept on its source's page (``RefusedPush``).
RECORDED_STATUSES = (400, 413)
# The query string's name for the push token (``push_by_query``).
KEY_PARAMETER = "integration_key"


class Rejected(Exception):
    """A push refused before its payload was parsed (bad method, token or JSON, too large)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: Said | str,
        *,
        kind: str = metrics.UNKNOWN,
        headers: dict[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> None:
        super().__init__(in_english(message))
        # Said in the request's language (``response``), stored in English (``record``).
        self.status, self.code, self.message = status, code, message
        self.kind = kind  # the source's, when it is known (``/metrics`` counts by kind)
        self.headers = headers or {}
        self.raw_body = raw_body  # the body it could not read, for the source's page

    def record(self, source: AlertSource | None) -> None:
        """Keep a refused body (400, 413) for its source's page; refused methods and tokens
        are not the body's fault, and a refused token names no source."""
        if source is not None and self.status in RECORDED_STATUSES:
            RefusedPush.record(
                source,
                status=self.status,
                code=self.code,
                message=in_english(self.message),
                raw_body=self.raw_body,
                body_bytes=len(self.raw_body or b""),
            )

    def response(self, source: AlertSource | None = None) -> JsonResponse:
        kind = source.kind if source else self.kind
        answer = console_error(self.status, self.code, str(self.message))
        return _respond(answer, kind, headers=self.headers)


class Body(NamedTuple):
    """A push's decoded JSON, its size in bytes, notes on what reading it changed, and the
    bytes as they came (for a source that checks a signature over them)."""

    payload: Any
    size: int
    notes: list[str]
    raw: bytes = b""


@csrf_exempt
def push(request: HttpRequest, token: str) -> JsonResponse:
    return _push(request, token)


@csrf_exempt
def push_by_query(request: HttpRequest) -> JsonResponse:
    """``POST /push/?integration_key=<token>``: the same push, for senders documented with the
    token in the query string (Keep, ElastAlert2) or whose URL field mangles paths."""
    token = request.GET.get(KEY_PARAMETER, "")
    if not token:
        return Rejected(
            401,
            "invalid_token",
            Said(
                _(
                    "Give the source's push token as integration_key in the query string, "
                    "or push to /push/<token>."
                )
            ),
        ).response()
    return _push(request, token)


def _push(request: HttpRequest, token: str) -> JsonResponse:
    source = None
    try:
        if request.method != "GET":
            require_post(request)
        source = authenticate(token)
        kind = source_kind(source.kind)
        pushed = push_request(request, source)
        if request.method == "GET":
            # A sender that calls back with GET pushes its fields in the query string.
            body = read_query(request) if kind.get_body else None
            if body is None:
                return _answer_get(source, kind, pushed)
        else:
            body = read_body(request, form=kind.form_body)
    except Rejected as rejected:
        rejected.record(source)
        return rejected.response(source)
    return accept(source, body, pushed._replace(raw_body=body.raw))


def _answer_get(source: AlertSource, kind: SourceKind, pushed: PushRequest) -> JsonResponse:
    answer = kind.answer_get(pushed)
    if answer is None:
        raise _method_not_allowed("GET")
    return _respond(answer, source.kind)


def push_request(request: HttpRequest, source: AlertSource) -> PushRequest:
    """What the source may read of this request besides its body (the body comes later)."""
    return PushRequest.of_source(source)._replace(
        headers=RequestHeaders(request), query=dict(request.GET.items())
    )


class RequestHeaders(Mapping[str, str]):
    """The request's headers by lower-case name, read from the request the first time a
    source asks for one: most kinds never do, and reading them all was 2 % of a push's CPU."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self._headers: dict[str, str] | None = None

    def _read(self) -> dict[str, str]:
        if self._headers is None:
            items = self._request.headers.items()
            self._headers = {name.lower(): value for name, value in items}
        return self._headers

    def __getitem__(self, name: str) -> str:
        return self._read()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def __repr__(self) -> str:
        return repr(self._read())


def accept(source: AlertSource, body: Body, pushed: PushRequest | None = None) -> JsonResponse:
    """Answer a control message, or parse, route and store an authenticated push; answer as
    its source's sender expects.

    Public for the views a source declares in its ``urls()``."""
    kind = source_kind(source.kind)
    if pushed is None:
        pushed = PushRequest.of_source(source, body.raw)
    try:
        control = kind.handshake(body.payload, pushed)
        if control is not None:
            return _respond(control, source.kind)
        if isinstance(kind, ChangeSourceKind):
            return _accept_changes(source, kind, body, pushed)
        result = ingest.accept(
            source, body.payload, body_bytes=body.size, edge_notes=body.notes, push=pushed
        )
    except ingest.TooManyAlerts as error:
        _record_refusal(source, body, 413, "too_many_alerts", error)
        answer = console_error(
            413, "too_many_alerts", error.message, limit=error.limit, count=error.count
        )
        return _respond(answer, source.kind)
    except SourceRefused as refused:
        return _respond(kind.refused_answer(refused), source.kind, refused.code)
    except PayloadError as error:
        error = _with_hint(error, body.payload, kind)
        _record_refusal(source, body, 400, "invalid_payload", error)
        # The source's own shape may carry no code (PagerDuty's): named here.
        answer = kind.invalid_answer(error)
        return _respond(answer, source.kind, "invalid_payload")
    return _respond(kind.accepted_answer(result), source.kind)


def _record_refusal(
    source: AlertSource, body: Body, status: int, code: str, error: PayloadError
) -> None:
    # After ``ingest.accept`` gave up: none of the push is stored, and this is written apart.
    RefusedPush.record(
        source,
        status=status,
        code=code,
        message=error.message,
        field=error.field,
        raw_body=body.raw,
        body_bytes=body.size,
    )


def _accept_changes(
    source: AlertSource, kind: ChangeSourceKind, body: Body, pushed: PushRequest
) -> JsonResponse:
    """A change source's push: recorded as changes, never as alerts (``oncall.change_events``).
    Raises what ``accept`` answers for every kind (``PayloadError``, ``SourceRefused``)."""
    result = changes.accept(
        source, kind, body.payload, body_bytes=body.size, edge_notes=body.notes, push=pushed
    )
    return _respond(kind.accepted_changes_answer(result), source.kind)


def _with_hint(error: PayloadError, payload: Any, kind: SourceKind) -> PayloadError:
    """The refusal, saying which kind the payload looks like when it is another kind's."""
    hint = wrong_kind_hint(payload, kind)
    if not hint:
        return error
    return PayloadError(f"{error.message} {hint}", field=error.field)


def _respond(
    answer: Answer,
    kind: str = metrics.UNKNOWN,
    code: str = "",
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """Every answer of ``push`` and ``accept`` goes out here and is counted for ``/metrics``
    under the source's kind and the answer's error code (``code`` when the body has none)."""
    metrics.push_answered(kind, answer.status, code or _error_code(answer))
    return JsonResponse(answer.body, status=answer.status, headers=headers)


def _error_code(answer: Answer) -> str:
    error = answer.body.get("error")
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def require_post(request: HttpRequest) -> None:
    """``Rejected`` (405, in JSON like every other refusal) unless the request is a POST.
    Django's ``require_POST`` answers an empty HTML page, which a sender's log shows as nothing."""
    if request.method != "POST":
        raise _method_not_allowed(request.method or "")


def _method_not_allowed(method: str) -> Rejected:
    return Rejected(
        405,
        "method_not_allowed",
        Said(_("Alerts are pushed with POST; %(method)s is not accepted here."), method=method),
        headers={"Allow": "POST"},
    )


def authenticate(token: str, *, kind: str | None = None) -> AlertSource:
    """The enabled source with this push token (and of this kind, if given), else ``Rejected``."""
    # No token holds a character that cannot be stored (nor hashed: a lone surrogate has no
    # UTF-8 form), so such a token matches no source.
    if jsonbody.unstorable(token):
        raise Rejected(401, "invalid_token", _no_such_token())
    source = _source_with_token(token)
    if source is None:
        raise Rejected(401, "invalid_token", _no_such_token())
    if kind and source.kind != kind:
        # The sender holds a real token: say what is wrong with using it here (never the token).
        raise Rejected(
            403,
            "wrong_source_kind",
            Said(
                _(
                    "This push token belongs to a source of kind %(kind)s, and this URL takes "
                    "only %(url_kind)s sources: push to the source's own URL, /push/<token>."
                ),
                kind=repr(source.kind),
                url_kind=repr(kind),
            ),
            kind=source.kind,
        )
    if not source.enabled:
        message = Said(_("The alert source %(name)s is disabled."), name=repr(source.name))
        raise Rejected(403, "source_disabled", message, kind=source.kind)
    return source


def _no_such_token() -> Said:
    return Said(_("No alert source has this push token."))


def _source_with_token(token: str) -> AlertSource | None:
    """The source whose push token is ``token``, looked up by its SHA-256 (the database
    compares digests, never the token itself).

    This is a push's first query, and it goes without Django's per-request connection health
    check: if the kept connection died since the last request, the lookup is made once more on
    a fresh one (``oncall.reconnect``; a lookup writes nothing). No ``ORDER BY``: the digest is
    unique, and ordering by the model's default (the name) was a tenth of the lookup's CPU."""
    digest = hash_token(token)
    return once_more_if_connection_lost(lambda: _source_with_digest(digest))


# Not ``first()``, which orders by the primary key when the query has no order; compiled once
# per thread (``oncall.compiled_lookup``): building the queryset was most of the lookup's CPU.
_SOURCE_BY_DIGEST = CompiledLookup(AlertSource, "token_hash")


def _source_with_digest(digest: str) -> AlertSource | None:
    return _SOURCE_BY_DIGEST.get(digest)


def read_json(request: HttpRequest) -> Body:
    """The decoded JSON body, else ``Rejected`` (413, or 400 with the reason)."""
    return read_body(request, form=False)


def read_body(request: HttpRequest, *, form: bool) -> Body:
    """The decoded body, else ``Rejected`` (413, or 400 with the reason): JSON, or, when the
    source takes them (``form``) and the request says so, form fields as ``dict[str, str]``."""
    limit = settings.PUSH_MAX_BODY_BYTES
    body = jsonbody.read_limited(request, limit)
    if body is None:
        too_large = Said(_("The body is larger than %(limit)s bytes."), limit=limit)
        raise Rejected(413, "payload_too_large", too_large)
    text: bytes | str = body
    # An empty body (curl -X POST with no data) is no fields, for a kind that takes forms.
    if form and (request.content_type == "application/x-www-form-urlencoded" or not body):
        # Through the same reader as JSON, so unstorable text is replaced and noted alike.
        text = json.dumps(_form_fields(body, request.encoding or "utf-8"))
    try:
        decoded = jsonbody.decode(text)
    except jsonbody.InvalidJSON as invalid:
        raise Rejected(400, "invalid_json", invalid.said, raw_body=body) from None
    note = jsonbody.replacement_note(decoded.replaced)
    return Body(decoded.value, len(body), [note] if note else [], body)


def read_query(request: HttpRequest) -> Body | None:
    """A GET's query string as the push's body (``SourceKind.get_body``): its fields as
    ``dict[str, str]`` without the push token, else ``Rejected`` (414 past the body's limit);
    ``None`` when it holds no field but the token (a GET to be answered by ``answer_get``)."""
    limit = settings.PUSH_MAX_BODY_BYTES
    # WSGI gives the query string as latin-1 text: one character per byte sent.
    if len(request.META.get("QUERY_STRING", "")) > limit:
        too_long = Said(_("The query string is longer than %(limit)s bytes."), limit=limit)
        raise Rejected(414, "query_too_long", too_long)
    fields = {name: value for name, value in request.GET.items() if name != KEY_PARAMETER}
    if not fields:
        return None
    # Through the same reader as a body, so unstorable text (%00) is replaced and noted alike.
    decoded = jsonbody.decode(json.dumps(fields))
    note = jsonbody.replacement_note(decoded.replaced)
    # The fields as sent, for a refusal kept on the source's page; never the token.
    raw = urlencode(decoded.value).encode()
    return Body(decoded.value, len(raw), [note] if note else [], raw)


def _form_fields(body: bytes, encoding: str) -> dict[str, str]:
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    return dict(parse_qsl(text, keep_blank_values=True))
