from __future__ import annotations

import json
from importlib import import_module
from typing import Any

import pytest
from django.test import Client

from tests import factories, network_guard
from tests.fake_dns import FakeDNS

# Fixtures shared beyond one folder: a Feishu sandbox tenant (its app, people and chat, the
# console's integration for it: the sandbox's tests and the browser tests).
pytest_plugins = ["tests.feishu.sandbox.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    network_guard.install()
    # The pages are tested in Chinese too: their catalogs must be built (git keeps only .po).
    from django.conf import settings

    from oncall.translations import compile_catalogs

    compile_catalogs(settings.LOCALE_PATHS)


@pytest.fixture(autouse=True)
def _empty_cache():
    """The cache outlives each test's rolled-back data (throttle counts keyed by token ids
    that repeat, tenant tokens, card-sync flags): every test starts with it empty."""
    from django.core.cache import cache

    from oncall.counted import end_request

    cache.clear()
    yield
    cache.clear()
    end_request()  # nor does a unit of work a test left open (``oncall.counted``)


@pytest.fixture(autouse=True)
def _default_language():
    """Django keeps the language a request activated in its thread (LocaleMiddleware never
    resets it): every test starts in the default language, whatever an earlier test's request
    asked for, so that assertions on wording do not depend on the order tests run in."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def recording_platform(settings):
    """The chat platforms are the recording stub alone (``tests.stub_platform``), its records
    cleared. The URLconf reads the platforms once, when first imported: it is imported first,
    with the installed ones, as in every other test."""
    from tests.stub_platform.platform import NOTIFIED_LEVELS, NOTIFIED_PEOPLE, RECORDING

    import_module(settings.ROOT_URLCONF)
    settings.CHAT_PLATFORMS = [RECORDING]
    NOTIFIED_LEVELS.clear()
    NOTIFIED_PEOPLE.clear()


@pytest.fixture
def channel(db):
    return factories.ChannelFactory()


@pytest.fixture
def responder(channel):
    user = factories.UserFactory(username="alice", first_name="Alice")
    channel.members.add(user)
    return user


@pytest.fixture
def staff():
    """The API as staff who manage escalation rules (the permissions it asks for, as the
    admin)."""
    return factories.api_as(factories.staff_user("root", *factories.ESCALATION_RULE_PERMISSIONS))


@pytest.fixture
def signed_in(client, responder):
    """The test client, signed in as ``responder``."""
    client.force_login(responder)
    return client


@pytest.fixture
def outsider(db):
    return factories.UserFactory(username="mallory")


@pytest.fixture
def push(client: Client, django_capture_on_commit_callbacks):
    """POST a payload to a source's push URL and run what it enqueued (processing) inline."""

    def _push(source, payload: Any, *, raw: bytes | None = None, process: bool = True):
        body = raw if raw is not None else json.dumps(payload)
        with django_capture_on_commit_callbacks(execute=process):
            return client.post(f"/push/{source.token}", data=body, content_type="application/json")

    return _push


@pytest.fixture
def fake_dns(monkeypatch) -> FakeDNS:
    from oncall import outbound

    dns = FakeDNS()
    monkeypatch.setattr(outbound, "getaddrinfo", dns.getaddrinfo)
    return dns
