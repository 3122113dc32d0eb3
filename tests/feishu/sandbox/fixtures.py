"""Fixtures of a Feishu sandbox tenant: an app, a small directory, a chat with the app's bot,
the console's real ``FeishuClient`` pointed at the sandbox on the live test server, and the
console's integration for the app. A plugin (the root conftest's ``pytest_plugins``): the
sandbox's tests and the browser tests use them."""

from __future__ import annotations

import gc
import threading

import pytest

from integrations.feishu.client.open_api import AppCredentials, FeishuClient
from integrations.feishu_sandbox.models import SandboxApp, SandboxChat, SandboxUser
from tests.feishu.sandbox.oauth_steps import REDIRECT_URI
from tests.feishu.sandbox.world import LOOPBACK_NETWORKS, console_app_for

PEOPLE = {
    "alice": ("Alice Chen", "+8613800000001"),
    "bob": ("Bob Li", "+8613800000002"),
    "carol": ("Carol Wang", "+8613800000003"),
    "dave": ("Dave Zhang", "+8613800000004"),
}


@pytest.fixture
def sandbox_app(db) -> SandboxApp:
    """A custom app available to everyone, with ``REDIRECT_URI`` registered for OAuth."""
    return SandboxApp.objects.create(name="Sandbox test app", redirect_urls=[REDIRECT_URI])


@pytest.fixture
def sandbox_people(db) -> dict[str, SandboxUser]:
    """alice, bob, carol and dave (emails ``<key>@example.com``), by first name."""
    return {
        key: SandboxUser.objects.create(name=name, email=f"{key}@example.com", mobile=mobile)
        for key, (name, mobile) in PEOPLE.items()
    }


@pytest.fixture
def sandbox_chat(sandbox_app, sandbox_people) -> SandboxChat:
    """The group "SRE on-call": alice (its owner) and bob, with ``sandbox_app``'s bot."""
    chat = SandboxChat.objects.create(name="SRE on-call", owner=sandbox_people["alice"])
    chat.members.add(sandbox_people["alice"], sandbox_people["bob"])
    chat.bots.add(sandbox_app)
    return chat


@pytest.fixture(scope="session")
def _drained_live_server(live_server):
    """The live server, whose request threads are waited for before it stops.

    Its threads close the shared in-memory SQLite connection after answering; one still
    closing when pytest-django stops the server (and withdraws the connection's thread
    sharing) dies with "DatabaseWrapper objects created in a thread...". Torn down before
    ``live_server``, this waits for them."""
    yield live_server
    gc.collect()  # closes kept-alive sockets of responses that only a dead traceback held
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=5)


@pytest.fixture
def sandbox_base_url(_drained_live_server, settings) -> str:
    """The sandbox on the live server: both the Open API and the accounts base of its apps.
    Loopback is allow-listed for the outbound guard, as ``dev.py up`` and the benchmarks do."""
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK_NETWORKS
    return _drained_live_server.url + "/sandbox/feishu"


@pytest.fixture
def make_sandbox_client(sandbox_base_url):
    """``make_sandbox_client(app, secret=None)``: the console's client for any sandbox app
    (``secret`` overrides the app's). Sessions are closed after the test: a kept-alive
    connection would hold a live-server thread past the end of the test database."""
    made: list[FeishuClient] = []

    def make(app: SandboxApp, *, secret: str | None = None) -> FeishuClient:
        credentials = AppCredentials(
            app.app_id,
            app.app_secret if secret is None else secret,
            sandbox_base_url,
            sandbox_base_url,
        )
        made.append(FeishuClient(credentials))
        return made[-1]

    yield make
    # A failed call's response lives on in its exception's traceback (a reference cycle):
    # collect it, or its kept-alive connection survives session.close().
    gc.collect()
    for client in made:
        client.session.close()


@pytest.fixture
def sandbox_client(sandbox_app, make_sandbox_client) -> FeishuClient:
    """The console's client for ``sandbox_app``, without a client-side rate limiter."""
    return make_sandbox_client(sandbox_app)


@pytest.fixture
def console_app(sandbox_app, sandbox_base_url, live_server, settings):
    """The console's integration for ``sandbox_app``, as an admin would create it, on a console
    whose public URL is the live server (so the sandbox can call it back)."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.FEISHU_SANDBOX_BASE_URL = sandbox_base_url
    return console_app_for(sandbox_app, name="Sandbox")
