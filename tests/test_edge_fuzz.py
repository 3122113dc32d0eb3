"""Every entry point a stranger can reach, fuzzed: no request may ever be answered with a 5xx.

The entry points are the push URLs of every source kind (``/push/<token>`` and the URLs a source
declares, such as PagerDuty's ``/push/pagerduty/v2/enqueue``), Feishu's callback URLs (events and
card clicks, plain and encrypted) and the browser URLs of its sign-in round trip (the OAuth
callback, the web entry, linking). Bodies are hypothesis-generated: random JSON with nasty text
(NUL, lone surrogates, control and astral characters), nesting past the reader's limit, integers
longer than Python reads, NaN, wrong types, random bytes, and mutations of the real payloads
(the sources' fixtures, Feishu's envelopes carrying the app's real credentials so that the
mutation reaches the handlers); headers are generated too. An accepted push is processed at once
(the worker's merge), so what the edge lets through must also be storable.

The full run (3,000 cases, see FULL) is the PostgreSQL stage's, where NUL broke the jsonb insert;
the SQLite stage runs a tenth of it. Requests go through Django's whole handler (``Client``).
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.feishu.client import crypto
from integrations.feishu.models import CallbackReceipt, LinkedAccount
from oncall.events import EventKind, PayloadError
from oncall.models import Alert, InboundEvent
from oncall.sources import PushRequest, source_kind
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    FeishuAppFactory,
    IncidentFactory,
    UserFactory,
)
from tests.feishu.test_callbacks import _signature

pytestmark = pytest.mark.django_db

SOURCES_DIR = Path(__file__).resolve().parents[1] / "integrations" / "sources"
KINDS = list(django_settings.ALERT_SOURCES)

# Cases per entry point in the full (PostgreSQL) run; the quick run takes a tenth. The push
# URL gets 60 per kind (each kind's fixtures come first), so that every kind still sees valid
# pushes as kinds are added, while the run stays within CI's time as they are.
FULL = {"push": 60 * len(KINDS), "pagerduty": 400, "callbacks": 1000, "browser": 400}
QUICK_SHARE = 10


# --- Values --------------------------------------------------------------------------------------

NASTY_STRINGS = [
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "x\ud83d",
    "\ufffd",
    "\u202e\u0000\u200b",
    "😀" * 3,
    "\x01\x1f\x7f",
    "%00",
    "../../etc/passwd",
    "'; DROP TABLE oncall_alert; --",
    "{{ 7*7 }}",
    "<script>alert(1)</script>",
    "\U0001d573" * 600,  # astral characters past a title's length
    " ",
    "",
    "NaN",
    "1e999",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999+14:00",
    "-0001-01-01",
    "http://",
    "https://" + "a" * 3000,
]
NASTY_TEXT = (
    st.sampled_from(NASTY_STRINGS)
    | st.text(st.characters(exclude_categories=()), max_size=20)
    | st.text(max_size=8)
)
NUMBERS = (
    st.integers()
    | st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**300, -(10**4299), 10**4299])
    | st.floats(allow_nan=False, allow_infinity=False)
)
SCALARS = st.none() | st.booleans() | NUMBERS | NASTY_TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY_TEXT, inner, max_size=5),
    max_leaves=20,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


# A value placed anywhere in a payload: anything JSON, or (rarely) nesting around the reader's
# limit, which refuses the whole body.
REPLACEMENTS = st.one_of(JSON, JSON, JSON, JSON, st.integers(55, 70).map(nested))

# Raw text spliced into an otherwise valid body, where Python's JSON reader would fail.
UNREADABLE = [
    "9" * 4301,
    "-" + "9" * 6000,
    "NaN",
    "-Infinity",
    "1e999",
    "[" * 3000 + "]" * 3000,
    '{"a":' * 1000 + "1" + "}" * 1000,
]
SPLICE = "__SPLICE_ME__"


# --- Bodies --------------------------------------------------------------------------------------


def fixtures(kind: str) -> list[Any]:
    """The source's captured payloads; the valid ones thrice, so that most mutations start from
    a payload that gets past the parser and into the merge."""
    valid, refusals = [], []
    for path in sorted((SOURCES_DIR / kind / "fixtures").glob("*.json")):
        if path.name.startswith("_"):  # _options.json: the source's settings, not a body
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        if path.name.startswith(("invalid_", "bad_")):
            refusals.append(document)
        else:
            valid += [document] * 3
    # Valid ones first: hypothesis's first draws pick the first element.
    return valid + refusals


def first_firing(kind: str) -> Any:
    """The kind's first fixture that parses into a firing event (not an acknowledgement, not a
    recovery of an alert that never fired), or None."""
    source = source_kind(kind)
    push = PushRequest.bare(source.clean_options(fixture_options(kind)))
    for document in fixtures(kind):
        try:
            events = source.parse_push(document, push)
        except PayloadError:
            continue
        if any(event.kind == EventKind.FIRING for event in events):
            return document
    return None


def alerting_kinds(world: dict) -> set[str]:
    """The kinds whose pushes become alerts: those with a fixture that is not a control message
    and parses into an event (a change source records changes, a heartbeat's pushes are
    pings)."""
    found = set()
    for kind in KINDS:
        source = source_kind(kind)
        push = PushRequest.bare(source.clean_options(fixture_options(kind)))
        push = push._replace(source_id=world["sources"][kind].pk)
        for document in fixtures(kind):
            try:
                if source.handshake(document, push) is None and source.parse_push(document, push):
                    found.add(kind)
                    break
            except PayloadError:
                continue
    return found


def fixture_options(kind: str) -> dict[str, Any]:
    """The options the kind's fixtures are read with (``_options.json``: a mapping), else {}."""
    path = SOURCES_DIR / kind / "fixtures" / "_options.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@st.composite
def mutation(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with a few of its nodes replaced, dropped or added to, anywhere in it."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(0, 4))):
        document = _mutate_once(draw, document, top=True)
    return document


def _mutate_once(draw: st.DrawFn, node: Any, *, top: bool = False) -> Any:
    # The document itself is kept (a mutation somewhere inside it); an inner object or array is
    # sometimes replaced whole.
    if isinstance(node, dict) and node and (top or draw(st.integers(0, 4))):
        key = draw(st.sampled_from(sorted(node)))
        action = draw(st.sampled_from(["descend", "descend", "drop", "add", "rekey"]))
        if action == "descend":
            node[key] = _mutate_once(draw, node[key])
        elif action == "drop":
            del node[key]
        elif action == "add":
            node[draw(NASTY_TEXT)] = draw(REPLACEMENTS)
        else:
            node[key + draw(NASTY_TEXT)] = node.pop(key)
        return node
    if isinstance(node, list) and node and (top or draw(st.integers(0, 4))):
        index = draw(st.integers(0, len(node) - 1))
        node[index] = _mutate_once(draw, node[index])
        return node
    return _mutate_leaf(draw, node)


def _mutate_leaf(draw: st.DrawFn, leaf: Any) -> Any:
    choice = draw(st.integers(0, 9))
    if isinstance(leaf, str) and choice < 5:
        # Nasty text inside a string keeps its type: the payload still reaches the merge.
        at = draw(st.integers(0, len(leaf)))
        return leaf[:at] + draw(NASTY_TEXT) + leaf[at:]
    if choice == 9:
        return SPLICE
    return draw(REPLACEMENTS)


def encode(document: Any, draw: st.DrawFn) -> bytes:
    text = json.dumps(document, ensure_ascii=draw(st.integers(0, 4)) > 0)
    if SPLICE in text:
        text = text.replace(json.dumps(SPLICE), draw(st.sampled_from(UNREADABLE)))
    # ensure_ascii=False leaves lone surrogates unescaped: a sender's bytes cannot hold them.
    return text.encode("utf-8", "surrogatepass")


@st.composite
def body(draw: st.DrawFn, documents: list[Any]) -> bytes:
    """Raw request bytes: mostly mutated real documents, else random JSON or random bytes."""
    shape = draw(st.sampled_from(["mutated"] * 6 + ["json", "unreadable", "bytes"]))
    if shape == "mutated":
        return encode(draw(mutation(draw(st.sampled_from(documents)))), draw)
    if shape == "json":
        return encode(draw(JSON), draw)
    if shape == "unreadable":
        return draw(st.sampled_from(UNREADABLE)).encode()
    return draw(st.binary(max_size=64))


HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "CONTENT_TYPE",
            "HTTP_ACCEPT_LANGUAGE",
            "HTTP_AUTHORIZATION",
            "HTTP_COOKIE",
            "HTTP_X_FORWARDED_FOR",
            "HTTP_X_LARK_SIGNATURE",
            "HTTP_X_LARK_REQUEST_TIMESTAMP",
            "HTTP_X_LARK_REQUEST_NONCE",
            "HTTP_USER_AGENT",
        ]
    ),
    HEADER_TEXT
    | st.sampled_from(
        [
            'sessionid="\\000aaaaaaaaaaaaaaaa"',
            "sessionid=" + "a" * 40,
            "csrftoken=\\000; sessionid=x",
            "99999999999999999999",
            "-1",
            "zh-hans;q=NaN, *;q=1e999",
        ]
    ),
    max_size=3,
)


# --- The world the requests arrive in -----------------------------------------------------------


@pytest.fixture
def world(db):
    channel = ChannelFactory(name="Databases")
    clicker = UserFactory(username="clicker")
    channel.members.add(clicker)
    plain = FeishuAppFactory(encrypt_key="")
    encrypted = FeishuAppFactory()
    for app in (plain, encrypted):
        LinkedAccount.objects.create(user=clicker, app=app, open_id="ou_clicker")
    disabled = FeishuAppFactory(enabled=False)
    return {
        "sources": {
            kind: AlertSourceFactory(channel=channel, kind=kind, options=fixture_options(kind))
            for kind in KINDS
        },
        "apps": [plain, encrypted],
        "disabled_app": disabled,
        "incident": IncidentFactory(channel=channel),
    }


class Run:
    """Sends requests and remembers the first 5xx, with what caused it."""

    def __init__(self, capture) -> None:
        self.client = Client()
        self.capture = capture

    def send(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        *,
        process: bool = False,
        **headers: str,
    ):
        headers.setdefault("CONTENT_TYPE", "application/json")
        content_type = headers.pop("CONTENT_TYPE")
        # ``process``: accepted pushes are processed at once, in the worker's code, which must
        # not fail either. Other tasks (a Feishu answer) would need the network: dropped.
        with self.capture(execute=process):
            response = self.client.generic(
                method, path, data or b"", content_type=content_type, **headers
            )
        assert response.status_code < 500, (method, path, data and data[:300], headers)
        return response


def hypothesis_settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# --- The entry points -----------------------------------------------------------------------------


def fuzz_push_urls(run: Run, world: dict, examples: int) -> None:
    # One run per kind, each with its share of the cases: a kind drawn from all of them would
    # meet fewer cases (hypothesis favours the first) the more kinds there are.
    for kind in KINDS:
        fuzz_push_url(run, world, kind, max(examples // len(KINDS), 1))


def fuzz_push_url(run: Run, world: dict, kind: str, examples: int) -> None:
    documents = fixtures(kind)
    token = world["sources"][kind].token
    # The first valid payload once as it is, before the mutations: with a handful of cases per
    # kind (the quick run), the fuzz alone may not draw one, and every kind must reach the merge.
    firing = first_firing(kind)
    if firing is not None:
        run.send("POST", f"/push/{token}", json.dumps(firing).encode(), process=True)

    @hypothesis_settings(examples)
    @given(data=st.data(), headers=HEADERS)
    def case(data, headers):
        chosen = data.draw(st.sampled_from([token] * 27 + ["nope", "%00", "%ED%A0%80"]))
        method = data.draw(st.sampled_from(["POST"] * 19 + ["GET"]))
        raw = data.draw(body(documents))
        run.send(method, f"/push/{chosen}", raw, process=True, **headers)

    case()


def fuzz_pagerdutys_own_url(run: Run, world: dict, examples: int) -> None:
    documents = fixtures("pagerduty")
    tokens = {kind: source.token for kind, source in world["sources"].items()}

    @hypothesis_settings(examples)
    @given(data=st.data(), headers=HEADERS)
    def case(data, headers):
        document = data.draw(mutation(data.draw(st.sampled_from(documents))))
        if isinstance(document, dict) and data.draw(st.integers(0, 4)):
            # Mostly a real token (of a PagerDuty source, or of another kind), else any text.
            real = st.sampled_from([tokens["pagerduty"]] * 6 + list(tokens.values()))
            document["routing_key"] = data.draw(st.one_of(real, real, real, NASTY_TEXT))
        raw = encode(document, data.draw)
        run.send("POST", "/push/pagerduty/v2/enqueue", raw, process=True, **headers)

    case()


def feishu_envelopes(app, incident) -> list[dict]:
    """What Feishu really POSTs, with this app's credentials, as the mutations' starting points."""
    token = app.verification_token
    header = {"event_id": "ev", "token": token, "app_id": app.app_id, "create_time": "1"}
    message = {
        "sender": {"sender_id": {"open_id": "ou_clicker"}, "sender_type": "user"},
        "message": {
            "message_id": "om_1",
            "chat_id": "oc_1",
            "chat_type": "p2p",
            "message_type": "text",
            "content": json.dumps({"text": f"snooze {incident.number} 2h"}),
            "parent_id": "om_card",
        },
    }
    value = {"action": "snooze", "incident": str(incident.public_id)}
    return [
        {"type": "url_verification", "token": token, "challenge": "c"},
        {
            "schema": "2.0",
            "header": {**header, "event_type": "im.message.receive_v1"},
            "event": message,
        },
        {
            "schema": "2.0",
            "header": {**header, "event_type": "im.chat.member.bot.added_v1"},
            "event": {"chat_id": "oc_1", "name": "SRE", "operator_id": {"open_id": "ou_x"}},
        },
        {
            "schema": "2.0",
            "header": {**header, "event_type": "card.action.trigger"},
            "event": {
                "operator": {"open_id": "ou_clicker"},
                "token": "c-1",
                "action": {"value": value, "tag": "select_static", "option": "2h"},
                "context": {"open_message_id": "om_card", "open_chat_id": "oc_1"},
            },
        },
        {
            "type": "event_callback",
            "uuid": "u1",
            "token": token,
            "event": {"type": "add_bot", "open_chat_id": "oc_1", "chat_name": "SRE"},
        },
        {
            "open_id": "ou_clicker",
            "open_message_id": "om_card",
            "open_chat_id": "oc_1",
            "token": "c-2",
            "action": {"value": {**value, "action": "claim"}, "tag": "button"},
        },
    ]


_ids = itertools.count(1)


def _fresh_ids(document: Any) -> Any:
    """New event ids and card tokens (a counter: hypothesis would draw the same ones again), so
    that the cases are handled, not answered as repeats of a callback already received."""
    if isinstance(document, dict):
        fresh = f"fuzz-{next(_ids)}"
        header = document.get("header")
        if isinstance(header, dict) and "event_id" in header:
            header["event_id"] = fresh
        if isinstance(document.get("uuid"), str):
            document["uuid"] = fresh
        event = document.get("event")
        for holder in (document, event if isinstance(event, dict) else {}):
            if isinstance(holder.get("token"), str) and holder["token"].startswith("c-"):
                holder["token"] = f"c-{fresh}"
    return document


def fuzz_feishu_callbacks(run: Run, world: dict, examples: int) -> None:
    apps, incident = world["apps"], world["incident"]
    envelopes = {app.pk: feishu_envelopes(app, incident) for app in apps}

    @hypothesis_settings(examples)
    @given(data=st.data(), headers=HEADERS)
    def case(data, headers):
        app = data.draw(st.sampled_from([*apps] * 5 + [world["disabled_app"]]))
        url = data.draw(st.sampled_from([app.event_callback_url, app.card_callback_url]))
        path = urlparse(url).path
        if app.pk not in envelopes:
            run.send("POST", path, data.draw(body([{}])), **headers)
            return
        document = _fresh_ids(data.draw(mutation(data.draw(st.sampled_from(envelopes[app.pk])))))
        raw = encode(document, data.draw)
        old_card = isinstance(document, dict) and "open_message_id" in document
        if app.encrypt_key and not old_card and data.draw(st.integers(0, 4)):
            plaintext = raw.decode("utf-8", "replace")  # (the encrypted text is UTF-8)
            raw = json.dumps({"encrypt": crypto.encrypt(app.encrypt_key, plaintext)}).encode()
        if data.draw(st.integers(0, 4)):
            # Mostly signed as Feishu signs, so that the mutation gets past the signature check.
            kind = "sha256" if app.encrypt_key and not old_card else "sha1"
            ts, nonce = str(int(time.time())), uuid.uuid4().hex
            headers = {
                **headers,
                "HTTP_X_LARK_REQUEST_TIMESTAMP": ts,
                "HTTP_X_LARK_REQUEST_NONCE": nonce,
                "HTTP_X_LARK_SIGNATURE": _signature(kind, app, ts, nonce, raw),
            }
        run.send(data.draw(st.sampled_from(["POST"] * 9 + ["GET"])), path, raw, **headers)

    case()


def fuzz_feishu_browser_urls(run: Run, world: dict, examples: int) -> None:
    apps = [*world["apps"]] * 3 + [world["disabled_app"]]
    params = st.dictionaries(
        st.sampled_from(["state", "code", "error", "next"]), NASTY_TEXT, max_size=4
    )

    @hypothesis_settings(examples)
    @given(data=st.data(), query=params, headers=HEADERS)
    def case(data, query, headers):
        app = data.draw(st.sampled_from(apps))
        page = data.draw(
            st.sampled_from(["oauth/callback/", "web/", "link/", "link/sign-in/", "link/resume/"])
        )
        if page == "oauth/callback/" and app.enabled and data.draw(st.booleans()):
            # A real state from the web entry, so that the callback reads its error and next.
            entry = run.send("GET", f"/feishu/{app.public_id}/web/")
            state = parse_qs(urlparse(entry["Location"]).query).get("state", [""])[0]
            query = {**query, "state": state, "error": query.get("error") or "access_denied"}
        encoded = urlencode(query, encoding="utf-8", errors="surrogatepass")
        path = f"/feishu/{app.public_id}/{page}?{encoded}"
        run.send(data.draw(st.sampled_from(["GET", "GET", "POST"])), path, b"", **headers)

    case()


def fuzz_everything(world: dict, capture, share: int) -> None:
    run = Run(capture)
    fuzz_push_urls(run, world, FULL["push"] // share)
    fuzz_pagerdutys_own_url(run, world, FULL["pagerduty"] // share)
    fuzz_feishu_callbacks(run, world, FULL["callbacks"] // share)
    fuzz_feishu_browser_urls(run, world, FULL["browser"] // share)
    # The cases got past authentication and parsing into the merge and the handlers, not only
    # to the first refusal: a fuzz that only ever met a 400 would prove nothing.
    merged = InboundEvent.objects.filter(status=InboundEvent.Status.PROCESSED).exclude(events=[])
    assert merged.count() >= 100 // share
    assert set(Alert.objects.values_list("source__kind", flat=True)) == alerting_kinds(world)
    assert CallbackReceipt.objects.count() >= 50 // share


@pytest.mark.postgres
def test_no_stranger_gets_a_5xx_on_postgresql(world, django_capture_on_commit_callbacks):
    assert connection.vendor == "postgresql"
    fuzz_everything(world, django_capture_on_commit_callbacks, share=1)


def test_no_stranger_gets_a_5xx(world, django_capture_on_commit_callbacks):
    fuzz_everything(world, django_capture_on_commit_callbacks, share=QUICK_SHARE)
