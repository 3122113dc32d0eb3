"""Settings helpers, encryption at rest, matchers, and the network guard."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured, ValidationError

from oncall import crypto
from oncall.env import env_bool, env_int, env_list, env_str
from oncall.matchers import Matcher, Op, parse_matchers
from tests.network_guard import NetworkBlocked


class TestEnvironment:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("true", True),
            ("1", True),
            ("Yes", True),
            ("false", False),
            ("0", False),
            ("off", False),
        ],
    )
    def test_it_reads_booleans(self, monkeypatch, raw, expected):
        monkeypatch.setenv("X_FLAG", raw)
        assert env_bool("X_FLAG", default=not expected) is expected

    def test_a_typo_in_a_boolean_stops_the_process(self, monkeypatch):
        monkeypatch.setenv("X_FLAG", "ture")
        with pytest.raises(ImproperlyConfigured, match="X_FLAG='ture' is not a boolean"):
            env_bool("X_FLAG", default=False)

    def test_numbers_must_be_whole_and_in_range(self, monkeypatch):
        monkeypatch.setenv("X_NUM", "ten")
        with pytest.raises(ImproperlyConfigured, match="not a whole number"):
            env_int("X_NUM", 1)
        monkeypatch.setenv("X_NUM", "0")
        with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
            env_int("X_NUM", 1, minimum=1)

    def test_values_may_come_from_files(self, monkeypatch, tmp_path):
        secret = tmp_path / "secret"
        secret.write_text("from-a-file\n")
        monkeypatch.setenv("X_SECRET_FILE", str(secret))
        assert env_str("X_SECRET") == "from-a-file"

    def test_an_unreadable_file_is_reported(self, monkeypatch, tmp_path):
        monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
        with pytest.raises(ImproperlyConfigured, match=r"X_SECRET_FILE=.* cannot be read"):
            env_str("X_SECRET")

    def test_lists_are_comma_separated(self, monkeypatch):
        monkeypatch.setenv("X_HOSTS", "a.example.com, b.example.com,")
        assert env_list("X_HOSTS", []) == ["a.example.com", "b.example.com"]


class TestEncryption:
    def test_it_round_trips_and_never_stores_plaintext(self):
        sealed = crypto.encrypt("s3cret-token")
        assert "s3cret" not in sealed
        assert sealed.startswith("v1:")
        assert crypto.decrypt(sealed) == "s3cret-token"
        assert crypto.encrypt("s3cret-token") != sealed  # a fresh nonce every time

    def test_a_tampered_value_fails_authentication(self):
        sealed = crypto.encrypt("s3cret-token")
        prefix, key_id, blob = sealed.split(":")
        tampered = f"{prefix}:{key_id}:{'A' if blob[0] != 'A' else 'B'}{blob[1:]}"
        with pytest.raises(crypto.DecryptionError, match="failed authentication"):
            crypto.decrypt(tampered)

    def test_rotation_keeps_old_values_readable_until_reencrypted(self, settings):
        settings.FIELD_ENCRYPTION_KEYS = ["old-key"]
        sealed_with_old = crypto.encrypt("token")
        settings.FIELD_ENCRYPTION_KEYS = ["new-key", "old-key"]
        assert crypto.decrypt(sealed_with_old) == "token"
        assert crypto.needs_reencryption(sealed_with_old)
        assert not crypto.needs_reencryption(crypto.encrypt("token"))
        settings.FIELD_ENCRYPTION_KEYS = ["new-key"]
        with pytest.raises(crypto.DecryptionError, match="no configured key"):
            crypto.decrypt(sealed_with_old)


class TestMatchers:
    subject = {"labels.env": "prod", "labels.team": "db", "title": "Disk full"}

    @pytest.mark.parametrize(
        ("matcher", "expected"),
        [
            (Matcher("labels.env", Op.EQUALS, "prod"), True),
            (Matcher("labels.env", Op.EQUALS, "staging"), False),
            (Matcher("labels.env", Op.NOT_EQUALS, "staging"), True),
            (Matcher("labels.missing", Op.NOT_EQUALS, "x"), True),
            (Matcher("labels.team", Op.REGEX, "d."), True),
            (Matcher("labels.team", Op.REGEX, "d"), False),  # the whole value must match
            (Matcher("labels.missing", Op.REGEX, ".*"), False),
            (Matcher("title", Op.NOT_REGEX, "CPU.*"), True),
            (Matcher("labels.team", Op.EXISTS), True),
            (Matcher("labels.missing", Op.EXISTS), False),
            (Matcher("labels.missing", Op.NOT_EXISTS), True),
        ],
    )
    def test_each_operator(self, matcher, expected):
        assert matcher.matches(self.subject) is expected

    def test_it_parses_the_stored_shape(self):
        parsed = parse_matchers(
            [
                {"key": "labels.env", "op": "re", "value": "prod|live"},
                {"key": "severity", "value": "critical"},
            ]
        )
        assert parsed == [
            Matcher("labels.env", Op.REGEX, "prod|live"),
            Matcher("severity", Op.EQUALS, "critical"),
        ]

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            ({"key": "x"}, "must be a list"),
            ([{"key": "env", "op": "eq", "value": "x"}], "key must be 'labels.<name>'"),
            ([{"key": "labels.env", "op": "like", "value": "x"}], "op must be one of"),
            ([{"key": "labels.env", "op": "re", "value": "("}], "invalid regex"),
            ([{"key": "labels.env", "op": "eq", "value": 3}], "value must be a string"),
        ],
    )
    def test_it_rejects_bad_matchers_with_a_reason(self, raw, reason):
        with pytest.raises(ValidationError, match=reason):
            parse_matchers(raw)


class TestNetworkGuard:
    def test_a_test_cannot_reach_the_internet(self):
        with pytest.raises(NetworkBlocked, match="off limits"):
            requests.get("https://open.feishu.cn/", timeout=1)

    def test_a_test_cannot_connect_to_a_non_loopback_address(self):
        import socket

        with socket.socket() as sock, pytest.raises(NetworkBlocked):
            sock.connect(("10.1.2.3", 443))


@pytest.mark.django_db
def test_reencrypt_secrets_moves_every_secret_to_the_new_key(settings, channel):
    from django.core.management import call_command
    from django.db import connection

    from tests.factories import AlertSourceFactory

    settings.FIELD_ENCRYPTION_KEYS = ["old-key"]
    source = AlertSourceFactory(channel=channel)
    settings.FIELD_ENCRYPTION_KEYS = ["new-key", "old-key"]
    call_command("reencrypt_secrets", stdout=io.StringIO())

    settings.FIELD_ENCRYPTION_KEYS = ["new-key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM oncall_alertsource WHERE id = %s", [source.pk])
        raw = cursor.fetchone()[0]
    assert not crypto.needs_reencryption(raw)
    assert crypto.decrypt(raw) == source.token


@pytest.mark.django_db
def test_the_migrations_match_the_models():
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("30m", 30),
        ("2h", 120),
        ("1h30m", 90),
        ("1d", 1440),
        (" 2 H ", 120),
        ("45", 45),
        (90, 90),
    ],
)
def test_durations_people_type(text, minutes):
    from datetime import timedelta

    from oncall.durations import parse_duration

    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "soon", "2x", "h", "1h30", "-5m"])
def test_durations_that_are_not(text):
    from oncall.durations import parse_duration

    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_the_wsgi_entry_point_imports_what_a_first_request_would():
    """A fresh gunicorn worker answers its first card click without importing the URLconf, the
    views or the broker's transport on the way; loading the entry point connects to nothing
    (the broker's port here has nobody listening)."""
    probe = (
        "import sys, oncall.wsgi; "
        "print(' '.join(m for m in ('oncall.urls', 'integrations.feishu.inbound.endpoint', "
        "'oncall.api.views', 'kombu.transport.redis') if m in sys.modules))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oncall.settings",
        "DEBUG": "true",
        "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.split() == [
        "oncall.urls",
        "integrations.feishu.inbound.endpoint",
        "oncall.api.views",
        "kombu.transport.redis",
    ]


def test_a_folders_fixtures_stay_in_their_folder(request):
    # tests/noise's ``emit`` pushes to whatever ``source`` means there; elsewhere ``source``
    # is another kind of source, and a test using ``emit`` by mistake must fail to start.
    with pytest.raises(pytest.FixtureLookupError) as missing:
        request.getfixturevalue("emit")
    assert missing.value.argname == "emit"  # not found itself (not merely its ``source``)
