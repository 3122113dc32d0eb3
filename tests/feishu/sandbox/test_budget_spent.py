"""The API budget's counting against the sandbox: every call of an app counted (the token fetch
and the calls Feishu refuses too); a spent Open API quota (Feishu's 99991403, as HTTP 400 or
429) said in plain words, no call made nor counted until the month ends or the plan changes,
and not mistaken for wrong credentials when the token fetch is the call refused. (Moved here
from ``tests/feishu/test_api_budget.py``, which mocked the HTTP layer.)"""

from __future__ import annotations

import pytest

from integrations.feishu import budget
from integrations.feishu.client import errors
from integrations.feishu.client.open_api import pooled_session
from integrations.feishu.models import ApiPlan, ApiUsage
from integrations.feishu_sandbox.models import ApiCall, Fault, SandboxMessage

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = "/open-apis/im/v1/messages"
TOKEN = "/open-apis/auth/v3/tenant_access_token/internal"
CARD = {"config": {"update_multi": True}, "elements": [{"tag": "hr"}]}
SPENT = (
    "Feishu's monthly API quota for this app is spent (10,000 calls on the free plan); "
    "cards resume next month or after changing the plan."
)


@pytest.fixture
def send(console_app, sandbox_app, sandbox_people):
    """``send()``: a card to Alice through a new client of the console app (its database
    meter, no rate limiter); the clients' sessions are closed after the test."""
    open_id = sandbox_app.open_id_of(sandbox_people["alice"])
    clients = []

    def send_one() -> str:
        clients.append(console_app.client(limiter=None))
        return clients[-1].send_message("open_id", open_id, CARD, f"uuid-{len(clients)}")

    yield send_one
    for client in clients:
        client.session.close()
    pooled_session().close()


def calls_to(path: str) -> int:
    return ApiCall.objects.filter(path=path).count()


def counted(app) -> int:
    return ApiUsage.objects.get(app=app, month=budget.quota_month()).calls


def test_it_counts_every_call_of_the_app_including_the_token_fetch(send, console_app):
    send()
    send()

    assert (calls_to(TOKEN), calls_to(MESSAGES)) == (1, 2)  # the token is cached for both
    assert counted(console_app) == ApiCall.objects.count() == 3


def test_a_call_refused_by_feishu_is_counted_too(send, console_app):
    Fault.objects.create(path_prefix=MESSAGES, status=400, code=230002, remaining=1)

    with pytest.raises(errors.BotNotInChat):
        send()

    assert counted(console_app) == ApiCall.objects.count() == 2  # the token, the refused send


@pytest.mark.parametrize("status", [400, 429])
def test_feishus_99991403_is_a_spent_quota_in_plain_words(send, console_app, status):
    Fault.objects.create(path_prefix=MESSAGES, status=status, code=99991403, remaining=1)

    with pytest.raises(errors.QuotaExhausted) as caught:
        send()

    assert caught.value.permanent
    assert str(caught.value) == SPENT
    assert budget.usage(console_app).level == "spent"


def test_once_spent_it_stops_calling_until_the_plan_changes(send, console_app):
    Fault.objects.create(path_prefix=MESSAGES, status=400, code=99991403, remaining=1)
    with pytest.raises(errors.QuotaExhausted):
        send()
    before = counted(console_app)

    with pytest.raises(errors.QuotaExhausted):
        send()
    assert calls_to(MESSAGES) == 1  # not sent
    assert counted(console_app) == before  # nor counted

    console_app.api_plan = ApiPlan.UNLIMITED  # the admin says the tenant upgraded
    console_app.save()
    message_id = send()
    assert SandboxMessage.objects.filter(message_id=message_id).exists()
    assert budget.usage(console_app).level == ""


def test_a_spent_quota_at_token_fetch_is_not_reported_as_wrong_credentials(send):
    Fault.objects.create(path_prefix=TOKEN, status=400, code=99991403, remaining=1)

    with pytest.raises(errors.QuotaExhausted) as caught:
        send()

    assert "App Secret" not in str(caught.value)
    assert calls_to(MESSAGES) == 0
