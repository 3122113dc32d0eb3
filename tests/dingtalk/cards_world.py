"""A world for the DingTalk card tests, on the live test server playing both the console and the
DingTalk sandbox: a sandbox app whose cool app is installed in the SRE group, the console's app
for it (with its card callback registered by "Check configuration"), and people with DingTalk
userIds. Tasks run inline unless a test starts a worker."""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass

import pytest

from integrations.dingtalk import setup_check
from integrations.dingtalk.models import DingTalkAccount, DingTalkApp, DingTalkGroup
from integrations.dingtalk_sandbox.management.commands import dingtalk_sandbox_seed
from integrations.dingtalk_sandbox.models import SandboxApp, SandboxCard, SandboxGroup
from tests.factories import ChannelFactory, EscalationRuleFactory, UserFactory

LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]
PEOPLE = ("alice", "bob", "carol", "dave")


def user_id_of(name: str) -> str:
    return f"staff-{name}"


@dataclass
class World:
    sandbox_app: SandboxApp
    app: DingTalkApp
    sandbox_group: SandboxGroup
    group: DingTalkGroup
    users: dict
    channel: object
    rule: object


def serve_from(settings, url: str) -> None:
    """The live server at ``url`` is both the console and the sandbox (which calls it back)."""
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK_NETWORKS
    settings.PUBLIC_BASE_URL = url
    settings.DINGTALK_SANDBOX_BASE_URL = url + "/sandbox/dingtalk"


@pytest.fixture
def live(_drained_live_server, settings):
    serve_from(settings, _drained_live_server.url)
    yield _drained_live_server.url
    gc.collect()  # close kept-alive connections before the test database goes


@pytest.fixture
def world(live) -> World:
    return build_world()


def build_world() -> World:
    sandbox_app = SandboxApp.objects.create(name="On-call")
    sandbox_group = SandboxGroup.objects.create(title="SRE")
    sandbox_group.installed_apps.add(sandbox_app)
    app = dingtalk_sandbox_seed.console_app_for(sandbox_app)
    assert setup_check.check_configuration(app).ok  # registers the card callback URL
    group = DingTalkGroup.objects.create(
        app=app, open_conversation_id=sandbox_group.open_conversation_id, name="SRE"
    )
    users = {}
    for name in PEOPLE:
        users[name] = UserFactory(username=name, first_name=name.title())
        DingTalkAccount.objects.create(app=app, user=users[name], dingtalk_user_id=user_id_of(name))
    channel = ChannelFactory(name="Databases")
    channel.members.add(*users.values())
    channel.escalation_rules.all().delete()
    rule = EscalationRuleFactory(channel=channel, name="Databases on-call")
    return World(sandbox_app, app, sandbox_group, group, users, channel, rule)


def cards_to(name: str) -> list[SandboxCard]:
    return list(SandboxCard.objects.filter(user_id=user_id_of(name)))


def group_cards(world: World) -> list[SandboxCard]:
    return list(SandboxCard.objects.filter(group=world.sandbox_group))


def shows(card: SandboxCard, words: str) -> bool:
    card.refresh_from_db()
    return words in json.dumps(card.data, ensure_ascii=False)
