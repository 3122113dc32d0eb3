"""Against the sandbox (issue 16, items 4, 5 and 7): a month's quota crossing warns once on the
timeline of the incident whose send crossed it; a spent quota fails deliveries in plain words;
every tenant-token code Feishu documents is answered by a new token and one retry; the signed-in
user's email and mobile come only with their scopes, and "Check configuration" says so."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from integrations.feishu import budget, setup_check
from integrations.feishu.cards import delivery
from integrations.feishu.client import errors
from integrations.feishu.client.open_api import pooled_session
from integrations.feishu.models import ApiUsage, CardDelivery
from integrations.feishu.oauth.provider import note_contact_fields
from integrations.feishu_sandbox.models import (
    EMAIL_SCOPE,
    PHONE_SCOPE,
    ApiCall,
    Fault,
    SandboxMessage,
    all_scopes,
)
from oncall.models import TimelineEntry
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.oauth_steps import REDIRECT_URI, sign_in
from tests.feishu.sandbox.world import link

MESSAGES = "/open-apis/im/v1/messages"
TOKEN = "/open-apis/auth/v3/tenant_access_token/internal"
CARD = {"config": {"update_multi": True}, "elements": [{"tag": "hr"}]}


@pytest.fixture
def people(console_app, sandbox_app, sandbox_people):
    users = {}
    for key in ("alice", "bob"):
        users[key] = UserFactory(username=key, first_name=key.title())
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    return users


@pytest.fixture
def channel(people):
    channel = ChannelFactory()
    channel.members.add(*people.values())
    return channel


@pytest.fixture
def console_client(console_app):
    """The console app's client (rate limits, meter); its session is closed after the test, or
    a kept-alive connection would hold a live-server thread past the test database."""
    clients = []

    def make():
        clients.append(console_app.client())
        return clients[-1]

    yield make
    for made in clients:
        made.session.close()
    pooled_session().close()  # the one card sends kept alive in this thread


def budget_warnings(incident) -> list[str]:
    entries = TimelineEntry.objects.filter(incident=incident, data__has_key="feishu_api_budget")
    return list(entries.values_list("message", flat=True))


def calls_counted(app) -> int:
    return ApiUsage.objects.get(app=app, month=budget.quota_month()).calls


# --- Item 4: the API budget -------------------------------------------------------------------


def test_a_months_quota_crossing_warns_once_on_the_incident_whose_send_crossed_it(
    console_app, console_client, people, channel
):
    console_app.api_monthly_quota = 10
    console_app.save()
    console_client().tenant_access_token()  # the token is fetched: call 1
    ApiUsage.objects.filter(app=console_app).update(calls=6)  # as if 5 more were made
    first, second, third = (IncidentFactory(channel=channel) for _ in range(3))

    delivery.notify(first, console_app, [people["alice"], people["bob"]], [])  # calls 7, 8
    delivery.notify(second, console_app, [people["alice"]], [])  # call 9
    delivery.notify(third, console_app, [people["alice"], people["bob"]], [])  # calls 10, 11

    (warning,) = budget_warnings(first)
    assert "has made 80 % of its 10 Open API calls this month" in warning
    assert budget_warnings(second) == []
    (warning,) = budget_warnings(third)
    assert "has made 100 % of its 10 Open API calls this month" in warning
    # The console counted exactly the calls the sandbox answered (5 were made up above).
    answered = ApiCall.objects.count()
    assert calls_counted(console_app) == answered + 5 == 11
    # Feishu has not refused anything: the console does not stop on its own count.
    assert SandboxMessage.objects.filter(msg_type="interactive").count() == 5


def test_a_spent_quota_fails_deliveries_in_plain_words_and_stops_calling(
    console_app, people, channel
):
    Fault.objects.create(path_prefix=MESSAGES, status=400, code=99991403, remaining=1)
    incident = IncidentFactory(channel=channel)

    delivery.notify(incident, console_app, [people["alice"], people["bob"]], [])

    spent = (
        "Feishu's monthly API quota for this app is spent (10,000 calls on the free plan); "
        "cards resume next month or after changing the plan."
    )
    rows = CardDelivery.objects.filter(incident=incident)
    assert {(row.state, row.last_error) for row in rows} == {(CardDelivery.State.FAILED, spent)}
    failures = TimelineEntry.objects.filter(
        incident=incident, kind=TimelineEntry.Kind.DELIVERY_FAILED
    )
    assert sorted(failures.values_list("message", flat=True)) == [
        f"Card not delivered to Alice: {spent}",
        f"Card not delivered to Bob: {spent}",
    ]
    # Feishu refused one send; the other was not attempted.
    assert ApiCall.objects.filter(path=MESSAGES).count() == 1
    assert budget.usage(console_app).level == "spent"


# --- Item 7: every tenant-token code ----------------------------------------------------------


@pytest.mark.parametrize("code", sorted(errors.TOKEN_INVALID_CODES))
def test_each_tenant_token_code_fetches_a_new_token_and_retries_once(
    code, console_client, sandbox_app, sandbox_people
):
    open_id = sandbox_app.open_id_of(sandbox_people["alice"])
    client = console_client()
    client.tenant_access_token()
    Fault.objects.create(path_prefix=MESSAGES, status=400, code=code, remaining=1)

    message_id = client.send_message("open_id", open_id, CARD, f"uuid-{code}")

    assert SandboxMessage.objects.get(message_id=message_id).user == sandbox_people["alice"]
    answers = ApiCall.objects.order_by("at", "id")  # a faulted answer names no app
    assert [(call.path, call.code) for call in answers] == [
        (TOKEN, 0),
        (MESSAGES, code),
        (TOKEN, 0),
        (MESSAGES, 0),
    ]


def test_a_token_code_twice_in_a_row_is_raised_not_retried_again(
    console_client, sandbox_app, sandbox_people
):
    open_id = sandbox_app.open_id_of(sandbox_people["alice"])
    Fault.objects.create(path_prefix=MESSAGES, status=400, code=99991665, remaining=2)

    with pytest.raises(errors.TokenInvalid):
        console_client().send_message("open_id", open_id, CARD, "uuid-twice")

    assert ApiCall.objects.filter(path=MESSAGES).count() == 2


# --- Item 5: the scopes linking needs ---------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "fields"),
    [
        (all_scopes(), {"email", "mobile"}),
        ([s for s in all_scopes() if s != EMAIL_SCOPE], {"mobile"}),
        ([s for s in all_scopes() if s != PHONE_SCOPE], {"email"}),
        (["im:chat", "im:message"], set()),
    ],
)
def test_user_info_carries_email_and_mobile_only_with_their_scopes(
    client, sandbox_client, sandbox_app, sandbox_people, scopes, fields
):
    sandbox_app.scopes = scopes
    sandbox_app.save()
    code = sign_in(client, sandbox_app, sandbox_people["alice"])["code"]
    user_token = sandbox_client.exchange_code(code, REDIRECT_URI)["access_token"]

    info = sandbox_client.user_info(user_token)

    assert {"email", "mobile"} & info.keys() == fields
    assert info["open_id"] == sandbox_app.open_id_of(sandbox_people["alice"])


def test_check_configuration_warns_when_sign_in_brought_no_email(
    client, console_app, sandbox_app, sandbox_people, make_sandbox_client
):
    sandbox_app.scopes = ["im:chat", "im:message", "contact:user.id:readonly"]
    sandbox_app.save()
    code = sign_in(client, sandbox_app, sandbox_people["alice"])["code"]
    oauth = make_sandbox_client(sandbox_app)
    info = oauth.user_info(oauth.exchange_code(code, REDIRECT_URI)["access_token"])
    note_contact_fields(console_app, info)

    result = setup_check.check_configuration(console_app)

    assert result.ok
    assert "the user info of the last Feishu sign-in had no email address" in result.message
    assert "contact:user.email:readonly" in result.message


def test_check_configuration_is_quiet_about_scopes_once_an_email_came(console_app):
    note_contact_fields(console_app, {"open_id": "ou_1", "email": "a@example.com"})

    result = setup_check.check_configuration(console_app)

    assert result.ok
    assert "email" not in result.message


def test_the_sandbox_app_page_sets_the_apps_scopes(client, sandbox_app):
    form = {
        "name": sandbox_app.name,
        "bot_name": sandbox_app.bot_name,
        "event_request_url": "",
        "card_request_url": "",
        "card_callback_format": sandbox_app.card_callback_format,
        "subscription_mode": sandbox_app.subscription_mode,
        "redirect_urls": "",
        "available_to_all": "true",
        "scopes": ["im:chat", "im:message", PHONE_SCOPE],
    }

    response = client.post(reverse("feishu_sandbox:app", args=[sandbox_app.app_id]), form)

    assert response.status_code == 302
    sandbox_app.refresh_from_db()
    assert sandbox_app.scopes == ["im:chat", "im:message", PHONE_SCOPE]
    page = client.get(reverse("feishu_sandbox:app", args=[sandbox_app.app_id])).content.decode()
    offered = scope_boxes(page)
    assert EMAIL_SCOPE in offered  # offered, and shown not granted
    assert {scope for scope, checked in offered.items() if checked} == {
        "im:chat",
        "im:message",
        PHONE_SCOPE,
    }


def scope_boxes(page: str) -> dict[str, bool]:
    """The app page's scope checkboxes: scope -> checked."""
    boxes = re.findall(r'<input type="checkbox" name="scopes"[^>]*>', page)
    return {re.search(r'value="([^"]*)"', box)[1]: " checked" in box for box in boxes}
