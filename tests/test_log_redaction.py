"""Secrets never reach a log line: push tokens in URLs (Django's ``Bad Request: /push/<token>``,
runserver's and gunicorn's access lines), PagerDuty routing keys, Authorization values, Feishu
tokens and OAuth codes. The tests read what the handlers were given, with no filter of their
own: caplog's handler, a gunicorn access-log file."""

from __future__ import annotations

import datetime
import json
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from oncall.gunicorn_logging import RedactingLogger
from tests import payloads
from tests.factories import AlertSourceFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


def test_it_redacts_the_token_in_djangos_bad_request_line(push, source, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert push(source, None, raw=b"{not json").status_code == 400
    assert "Bad Request: /push/<token>" in caplog.text
    assert source.token not in caplog.text


def test_it_redacts_the_token_of_a_refused_push(push, source, caplog):
    source.enabled = False
    source.save()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert push(source, payloads.alertmanager(payloads.am_alert())).status_code == 403
    assert "/push/<token>" in caplog.text
    assert source.token not in caplog.text


def test_it_redacts_a_token_followed_by_more_path_or_escapes(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("django.server").info('"GET /push/Ab-c%2Fd_9/x HTTP/1.1" 404 0')
    assert caplog.records[-1].getMessage() == '"GET /push/<token>/x HTTP/1.1" 404 0'


def test_it_keeps_a_source_kinds_own_urls_readable(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("x").info("Bad Request: /push/pagerduty/v2/enqueue")
    assert caplog.records[-1].getMessage() == "Bad Request: /push/pagerduty/v2/enqueue"


def test_it_redacts_pagerduty_routing_keys_in_bodies_and_urls(caplog):
    body = json.dumps({"routing_key": "R0ut1ngKeyOf32Characters00000000", "event_action": "x"})
    with caplog.at_level(logging.INFO):
        logging.getLogger("x").info("body %s", body)
        logging.getLogger("x").info("GET /push/pagerduty/v2/enqueue?routing_key=R0ut1ng&a=1")
    assert "R0ut1ng" not in caplog.text
    assert '"routing_key": "<redacted>", "event_action": "x"' in caplog.text
    assert "?routing_key=<redacted>&a=1" in caplog.text


def test_it_redacts_authorization_values_and_api_keys(caplog):
    key = "oc_" + "k" * 43
    with caplog.at_level(logging.INFO):
        logging.getLogger("x").info("Authorization: Token %s", key)
        logging.getLogger("x").info("Authorization: Bearer t-g1044ghJRUIJJ5ELPZ5GWSXPJBUDMJP5")
        logging.getLogger("x").info("a key pasted into a message: %s.", key)
        logging.getLogger("x").info("Token revoked")
    assert key not in caplog.text
    assert "t-g1044" not in caplog.text
    assert "Authorization: Token <redacted>" in caplog.text
    assert "Authorization: Bearer <redacted>" in caplog.text
    assert "Token revoked" in caplog.text


def test_it_redacts_feishu_tokens_and_secrets(caplog):
    callback = {"token": "v3rification-T0ken", "app_secret": "s3cr3t", "tenant_access_token": "t-1"}
    with caplog.at_level(logging.INFO):
        logging.getLogger("x").info("callback %s", callback)
        logging.getLogger("x").info("callback %s", json.dumps(callback))
    for secret in ("v3rification-T0ken", "s3cr3t", "t-1"):
        assert secret not in caplog.text


def test_it_redacts_oauth_codes_and_states(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("django.server").info(
            '"GET /feishu/x/oauth/callback/?code=abc123&state=s-9f HTTP/1.1" 302 0'
        )
    assert caplog.records[-1].getMessage() == (
        '"GET /feishu/x/oauth/callback/?code=<redacted>&state=<redacted> HTTP/1.1" 302 0'
    )


def test_it_redacts_tracebacks(caplog):
    token = "Tok3nInATracebackOf32Characters0"
    with caplog.at_level(logging.ERROR):
        try:
            raise ValueError(f"no route for /push/{token}")
        except ValueError:
            logging.getLogger("x").exception("failed")
    assert "/push/<token>" in caplog.text
    assert token not in caplog.text


# --- gunicorn --------------------------------------------------------------------------------


def gunicorn_access_line(tmp_path: Path, path: str, authorization: str) -> str:
    """One request through gunicorn's logger as configured by the checkout, written to an
    access-log file with a format that also prints the Authorization header."""
    log_file = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(log_file))
    cfg.set("access_log_format", '"%(r)s" %(s)s %(U)s %(q)s "%({authorization}i)s"')
    logger = RedactingLogger(cfg)
    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": path,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", authorization)])
    response = SimpleNamespace(status="200 OK", sent=2, headers=[])
    logger.access(response, request, environ, datetime.timedelta(microseconds=1500))
    for handler in logger.access_log.handlers:
        handler.flush()
    return log_file.read_text()


def test_gunicorns_access_log_redacts_push_tokens_and_credentials(tmp_path):
    token, key = "Gun1c0rnPushTokenOf32Characters0", "oc_" + "g" * 43
    line = gunicorn_access_line(tmp_path, f"/push/{token}?code=c0de", f"Token {key}")
    assert token not in line
    assert key not in line
    assert "c0de" not in line
    assert line.startswith('"POST /push/<token>?code=<redacted> HTTP/1.1" 200 /push/<token>')
    assert '"Token <redacted>"' in line


def test_gunicorn_started_from_the_checkout_uses_the_redacting_logger():
    printed = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--print-config", "oncall.wsgi"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "logger_class                       = oncall.gunicorn_logging.RedactingLogger" in printed


def test_it_redacts_the_token_in_the_query_string_push_url(caplog):
    line = '"POST /push/?integration_key=AbCdEf0123456789AbCdEf0123456789 HTTP/1.1" 200 61'
    with caplog.at_level(logging.INFO):
        logging.getLogger("django.server").info(line)
    assert caplog.records[-1].getMessage() == (
        '"POST /push/?integration_key=<redacted> HTTP/1.1" 200 61'
    )


def test_it_redacts_a_token_in_a_source_kinds_own_url(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("x").info("Bad Request: /push/email/AbCdEf0123456789AbCdEf0123/mime")
    assert caplog.records[-1].getMessage() == "Bad Request: /push/email/<token>/mime"
