"""The sandbox's long-connection endpoint (``POST /callback/ws/endpoint``) and its tickets, as the
official SDK's client reads them (lark_oapi/ws/client.py: ``code``, ``data.URL``,
``data.ClientConfig``)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.feishu_sandbox import long_connection

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/callback/ws/endpoint", "/sandbox/feishu/callback/ws/endpoint"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_it_gives_a_socket_url_with_a_ticket_for_the_right_secret(client, sandbox_app, path):
    answer = client.post(
        path,
        {"AppID": sandbox_app.app_id, "AppSecret": sandbox_app.app_secret},
        content_type="application/json",
    ).json()

    url = urlsplit(answer["data"]["URL"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert answer["code"] == 0
    assert (url.scheme, url.path) == ("ws", "/ws/v2")
    assert query.keys() >= {"device_id", "service_id", "ticket"}
    assert long_connection.read_ticket(query["ticket"], query["device_id"]) == sandbox_app.app_id
    assert answer["data"]["ClientConfig"]["PingInterval"] > 0


def test_a_wrong_secret_gets_feishus_code(client, sandbox_app):
    answer = client.post(
        ENDPOINTS[0],
        {"AppID": sandbox_app.app_id, "AppSecret": "wrong"},
        content_type="application/json",
    ).json()

    assert answer == {"code": 10014, "msg": "app secret invalid"}


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"AppID": "cli_nobody", "AppSecret": "x"}'])
def test_a_bad_request_gets_invalid_param(client, body):
    answer = client.post(ENDPOINTS[0], body, content_type="application/json").json()

    assert answer["code"] == 10003


def test_a_ticket_is_bound_to_its_device_and_its_signature_and_expires():
    ticket = long_connection.make_ticket("cli_a", "device-1")
    body, _, signature = ticket.partition(".")

    assert long_connection.read_ticket(ticket, "device-2") is None
    assert long_connection.read_ticket(f"{body}.{'0' * len(signature)}", "device-1") is None
    stale = long_connection.make_ticket("cli_a", "device-1", now=time.time() - 3600)
    assert long_connection.read_ticket(stale, "device-1") is None
