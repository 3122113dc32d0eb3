"""Migrations ``dingtalk.0005_one_dingtalk_account_model`` and ``0006_drop_dingtalk_identity``:
the userIds admins kept in ``DingTalkIdentity`` become linked accounts (without a unionId) and
the model goes; sign-in's accounts keep what DingTalk said.

The test migrates the real test database back and forth (hence ``transaction=True``: the
schema editor of SQLite cannot run inside the test's transaction) and leaves it at the latest
migration of every app, as the rest of the suite expects."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrating import migrate

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("dingtalk", "0004_dingtalk_event_mode")]
AFTER = [("dingtalk", "0006_drop_dingtalk_identity")]


@pytest.fixture
def migrator():
    try:
        yield migrate
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_identities_become_accounts_and_sign_ins_keep_their_word(migrator):
    apps = migrator(BEFORE)
    User = apps.get_model("auth", "User")
    app = apps.get_model("dingtalk", "DingTalkApp").objects.create(
        name="Ops", client_id="ding-migration", client_secret="s"
    )
    alice, bob, carol, dave = (User.objects.create(username=n) for n in "abcd")
    Identity = apps.get_model("dingtalk", "DingTalkIdentity")
    Account = apps.get_model("dingtalk", "DingTalkAccount")
    Identity.objects.create(app=app, user=alice, dingtalk_user_id="staff-a")  # only typed in
    Identity.objects.create(app=app, user=bob, dingtalk_user_id="staff-b-typed")
    Account.objects.create(app=app, user=bob, union_id="u-b")  # signed in, no userid found
    Identity.objects.create(app=app, user=carol, dingtalk_user_id="staff-c-typed")
    Account.objects.create(app=app, user=carol, union_id="u-c", dingtalk_user_id="staff-c")
    Identity.objects.create(app=app, user=dave, dingtalk_user_id="staff-e")  # held by Erin
    erin = User.objects.create(username="e")
    Account.objects.create(app=app, user=erin, union_id="u-e", dingtalk_user_id="staff-e")

    apps = migrator(AFTER)

    accounts = apps.get_model("dingtalk", "DingTalkAccount").objects.order_by("user__username")
    assert [(a.user.username, a.union_id, a.dingtalk_user_id) for a in accounts] == [
        ("a", "", "staff-a"),
        ("b", "u-b", "staff-b-typed"),
        ("c", "u-c", "staff-c"),
        ("e", "u-e", "staff-e"),
    ]
    with pytest.raises(LookupError):
        apps.get_model("dingtalk", "DingTalkIdentity")
