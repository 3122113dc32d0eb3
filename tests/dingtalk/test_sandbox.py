"""The DingTalk sandbox: its token API as DingTalk answers it, the console's "Check
configuration" against it over HTTP, its pages pushing encrypted, signed events to the console
over HTTP (the live test server plays both), how it judges the console's answers, and the seed
that ``dev.py up`` runs."""

from __future__ import annotations

import gc

import pytest
import requests
from django.core.management import call_command
from django.urls import reverse

from integrations.dingtalk import setup_check
from integrations.dingtalk.client import errors
from integrations.dingtalk.client.open_api import AppCredentials, DingTalkClient
from integrations.dingtalk.models import DingTalkApp, DingTalkGroup, Platform
from integrations.dingtalk_sandbox import push
from integrations.dingtalk_sandbox.management.commands import dingtalk_sandbox_seed
from integrations.dingtalk_sandbox.models import (
    PushRecord,
    SandboxApp,
    SandboxGroup,
    SandboxToken,
    secret_hash,
)

pytestmark = pytest.mark.django_db

LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def live(_drained_live_server, settings):  # the sandbox tenant plugin's (tests/conftest.py)
    """The live server as both the sandbox and the console (which the sandbox calls back)."""
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK_NETWORKS
    settings.PUBLIC_BASE_URL = _drained_live_server.url
    settings.DINGTALK_SANDBOX_BASE_URL = _drained_live_server.url + "/sandbox/dingtalk"
    yield _drained_live_server.url
    gc.collect()  # close kept-alive connections before the test database goes


@pytest.fixture
def sandbox_app() -> SandboxApp:
    return SandboxApp.objects.create(name="Sandbox test app")


def console_app_for(sandbox_app: SandboxApp, **overrides) -> DingTalkApp:
    app = dingtalk_sandbox_seed.console_app_for(sandbox_app)
    DingTalkApp.objects.filter(pk=app.pk).update(**overrides)
    app.refresh_from_db()
    return app


# --- The token API ------------------------------------------------------------------------------


def token_request(client, app: SandboxApp, **changes):
    body = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "grant_type": "client_credentials",
    } | changes
    corp = changes.pop("corp", app.corp_id)
    url = reverse("dingtalk_sandbox:api-token", args=[corp])
    return client.post(url, body, content_type="application/json")


def test_it_issues_a_token_for_the_right_credentials_and_keeps_only_its_hash(client, sandbox_app):
    response = token_request(client, sandbox_app)
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 7200
    (row,) = SandboxToken.objects.all()
    assert row.token_hash == secret_hash(body["access_token"])
    assert body["access_token"] not in row.token_hash


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"client_secret": "wrong"}, 400, "invalid.client"),
        ({"client_id": "dingunknown"}, 400, "invalid.client"),
        ({"grant_type": "password"}, 400, "unsupported.grant.type"),
        ({"corp": "dingotherorganisation"}, 401, "unauthorized.client"),
    ],
)
def test_it_refuses_as_dingtalks_error_table_says(client, sandbox_app, changes, status, code):
    response = token_request(client, sandbox_app, **changes)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not SandboxToken.objects.exists()


def test_the_consoles_client_gets_a_token_over_http(live, sandbox_app):
    base = live + "/sandbox/dingtalk"
    credentials = AppCredentials(
        sandbox_app.corp_id, sandbox_app.client_id, sandbox_app.client_secret, base, base
    )
    client = DingTalkClient(credentials)
    token = client.access_token()
    assert SandboxToken.objects.filter(token_hash=secret_hash(token)).exists()
    wrong = DingTalkClient(AppCredentials(sandbox_app.corp_id, "dingnobody", "x", base, base))
    with pytest.raises(errors.AuthError) as raised:
        wrong.access_token()
    assert raised.value.code == "invalid.client"
    client.session.close()
    wrong.session.close()


def test_check_configuration_works_against_the_sandbox(live, sandbox_app):
    app = console_app_for(sandbox_app)
    result = setup_check.check_configuration(app)
    assert result.ok, result.message
    assert sandbox_app.client_id in result.message

    wrong_corp = console_app_for(sandbox_app, corp_id="dingsomewhereelse")
    result = setup_check.check_configuration(wrong_corp)
    assert not result.ok
    assert "unauthorized.client" in result.message
    assert "CorpId" in result.message


# --- Pushes, from the pages, over HTTP ---------------------------------------------------------


def test_saving_the_request_url_makes_dingtalk_check_it(live, client, sandbox_app):
    console = console_app_for(sandbox_app)
    response = client.post(
        reverse("dingtalk_sandbox:app", args=[sandbox_app.client_id]),
        {"event_request_url": console.event_url},
        follow=True,
    )
    (message,) = [str(m) for m in response.context["messages"]]
    assert "the console answered “success”" in message
    record = PushRecord.objects.get()
    assert (record.event_type, record.http_status, record.ok) == ("check_url", 200, True)
    console.refresh_from_db()
    assert console.url_verified_at is not None


def test_the_group_page_drives_the_consoles_group_list(live, client, sandbox_app):
    console = console_app_for(sandbox_app)
    SandboxApp.objects.filter(pk=sandbox_app.pk).update(event_request_url=console.event_url)
    group = SandboxGroup.objects.create(title="SRE on-call")
    group_id = group.open_conversation_id

    client.post(reverse("dingtalk_sandbox:group-install", args=[group_id]), {"app": sandbox_app.pk})
    listed = DingTalkGroup.objects.get(app=console)
    assert (listed.open_conversation_id, listed.status) == (group_id, "active")

    client.post(reverse("dingtalk_sandbox:group-rename", args=[group_id]), {"title": "SRE 值班"})
    listed.refresh_from_db()
    assert listed.name == "SRE 值班"

    client.post(
        reverse("dingtalk_sandbox:group-uninstall", args=[group_id]), {"app": sandbox_app.pk}
    )
    listed.refresh_from_db()
    assert listed.status == "uninstalled"
    assert not group.installed_apps.exists()
    assert list(PushRecord.objects.values_list("ok", flat=True)) == [True, True, True]


def test_a_console_with_other_keys_fails_the_push_with_the_reason(live, sandbox_app):
    console = console_app_for(sandbox_app, signature_token="not-what-dingtalk-has")
    SandboxApp.objects.filter(pk=sandbox_app.pk).update(event_request_url=console.event_url)
    sandbox_app.refresh_from_db()

    record = push.push(sandbox_app, push.check_url_event())

    assert (record.ok, record.http_status) == (False, 401)
    assert "bad_signature" in record.outcome
    console.refresh_from_db()
    assert console.url_verified_at is None


def test_an_unreachable_console_is_recorded(sandbox_app):
    sandbox_app.event_request_url = "http://127.0.0.1:9/dingtalk/x/events"

    def refuse(*args, **kwargs):
        raise requests.ConnectionError("refused")

    record = push.push(sandbox_app, push.check_url_event(), post=refuse)
    assert (record.ok, record.outcome) == (False, "no answer: ConnectionError")


@pytest.mark.parametrize(
    ("status", "content", "reason"),
    [
        (500, b"oops", "HTTP 500"),
        (200, b"success", "not JSON"),
        (200, b'{"encrypt": "x"}', "encrypted answer"),
    ],
)
def test_an_answer_that_is_not_dingtalks_success_fails(sandbox_app, status, content, reason):
    ok, outcome = push.judge(sandbox_app, status, content)
    assert not ok
    assert reason in outcome


def test_the_pushed_events_look_like_dingtalks(sandbox_app):
    group = SandboxGroup.objects.create(title="Ops")
    installed = push.cool_app_event(sandbox_app, group, installed=True)
    renamed = push.renamed_event(sandbox_app, group)
    assert installed["EventType"] == "im_cool_app_install"
    assert installed["openConversationId"] == group.open_conversation_id
    assert installed["robotCode"] == sandbox_app.client_id
    assert renamed["EventType"] == "chat_update_title"
    assert renamed["title"] == "Ops"
    assert installed["eventId"] != renamed["eventId"]


def test_an_app_without_a_request_url_pushes_nothing(client, sandbox_app):
    group = SandboxGroup.objects.create(title="Ops")
    response = client.post(
        reverse("dingtalk_sandbox:group-install", args=[group.open_conversation_id]),
        {"app": sandbox_app.pk},
        follow=True,
    )
    assert "no event was pushed" in str(next(iter(response.context["messages"])))
    assert not PushRecord.objects.exists()
    assert group.installed_apps.get() == sandbox_app


# --- Pages --------------------------------------------------------------------------------------


def test_the_pages_show_the_credentials_to_copy(client, sandbox_app):
    SandboxGroup.objects.create(title="Ops")
    home = client.get(reverse("dingtalk_sandbox:home")).content.decode()
    assert sandbox_app.client_id in home
    assert "Ops" in home
    page = client.get(reverse("dingtalk_sandbox:app", args=[sandbox_app.client_id]))
    text = page.content.decode()
    for value in (sandbox_app.corp_id, sandbox_app.agent_id, sandbox_app.client_secret):
        assert value in text
    assert sandbox_app.aes_key in text
    assert sandbox_app.signature_token in text


def test_the_pages_speak_chinese(client, sandbox_app):
    page = client.get(reverse("dingtalk_sandbox:home"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "钉钉沙箱" in page.content.decode()


def test_an_app_is_created_from_the_home_page(client):
    response = client.post(reverse("dingtalk_sandbox:home"), {"name": "New app"})
    app = SandboxApp.objects.get()
    assert response["Location"] == reverse("dingtalk_sandbox:app", args=[app.client_id])
    assert len(app.aes_key) == 43


# --- The seed (dev.py up) -----------------------------------------------------------------------


def test_the_seed_makes_one_app_on_both_sides_wired_and_runs_again_unchanged():
    call_command("dingtalk_sandbox_seed")
    call_command("dingtalk_sandbox_seed")

    sandbox_app = SandboxApp.objects.get()
    console = DingTalkApp.objects.get()
    assert console.platform == Platform.SANDBOX
    assert (console.corp_id, console.client_id, console.agent_id) == (
        sandbox_app.corp_id,
        sandbox_app.client_id,
        sandbox_app.agent_id,
    )
    assert (console.client_secret, console.aes_key, console.signature_token) == (
        sandbox_app.client_secret,
        sandbox_app.aes_key,
        sandbox_app.signature_token,
    )
    assert sandbox_app.event_request_url == console.event_url
    assert sorted(SandboxGroup.objects.values_list("title", flat=True)) == [
        "Database team",
        "SRE on-call",
    ]


def test_the_seed_prints_no_secret(capsys):
    call_command("dingtalk_sandbox_seed")
    printed = capsys.readouterr().out
    sandbox_app = SandboxApp.objects.get()
    assert sandbox_app.client_id in printed
    for secret in (sandbox_app.client_secret, sandbox_app.aes_key, sandbox_app.signature_token):
        assert secret not in printed


# --- System checks ------------------------------------------------------------------------------


def test_the_sandbox_in_production_is_warned_about(settings):
    from integrations.dingtalk import system_checks

    settings.DEBUG, settings.DINGTALK_SANDBOX_ENABLED = False, True
    (warning,) = system_checks.sandbox_in_production(None)
    assert warning.id == "oncall.W111"
    settings.DINGTALK_SANDBOX_ENABLED = False
    assert system_checks.sandbox_in_production(None) == []


def test_a_sandbox_on_loopback_outside_the_allow_list_is_warned_about(settings):
    from integrations.dingtalk import system_checks

    settings.DINGTALK_SANDBOX_ENABLED = True
    settings.DINGTALK_SANDBOX_BASE_URL = "http://localhost:8000/sandbox/dingtalk"
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    (warning,) = system_checks.sandbox_outside_the_allow_list(None)
    assert warning.id == "oncall.W112"
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK_NETWORKS
    assert system_checks.sandbox_outside_the_allow_list(None) == []
