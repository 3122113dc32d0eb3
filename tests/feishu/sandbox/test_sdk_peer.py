"""The sandbox checked by Feishu's official SDK (``lark-oapi``): its client calls the sandbox's
Open API at an origin its ``domain`` setting accepts, and its event dispatcher verifies the
sandbox's encrypted, signed callbacks. Where the SDK and the sandbox disagree, the sandbox is
wrong: the SDK is what real apps run against the real Feishu."""

from __future__ import annotations

import json
import uuid

import lark_oapi as lark
import pytest
import requests
from lark_oapi.api.auth.v3 import (
    InternalAppAccessTokenRequest,
    InternalAppAccessTokenRequestBody,
    InternalTenantAccessTokenRequest,
    InternalTenantAccessTokenRequestBody,
)
from lark_oapi.api.authen.v1 import GetUserInfoRequest
from lark_oapi.api.contact.v3 import BatchGetIdUserRequest, BatchGetIdUserRequestBody
from lark_oapi.api.im.v1 import (
    CreateMessageRequest,
    CreateMessageRequestBody,
    ListChatRequest,
    PatchMessageRequest,
    PatchMessageRequestBody,
)
from lark_oapi.core.model import RawRequest

from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.models import SandboxMessage
from integrations.feishu_sandbox.send import Click
from tests.feishu.sandbox.oauth_steps import REDIRECT_URI, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

CARD = {
    "config": {"update_multi": True},
    "header": {"title": {"tag": "plain_text", "content": "Disk full"}, "template": "red"},
    "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "db-1 at 95%"}}],
}


@pytest.fixture
def origin(sandbox_base_url) -> str:
    """The live server's origin: the sandbox serves ``/open-apis/`` at its root."""
    return sandbox_base_url.removesuffix("/sandbox/feishu")


@pytest.fixture
def sdk(origin, sandbox_app) -> lark.Client:
    return (
        lark.Client.builder()
        .app_id(sandbox_app.app_id)
        .app_secret(sandbox_app.app_secret)
        .domain(origin)
        .enable_set_token(True)  # lets a call pass a user token (user_info)
        .log_level(lark.LogLevel.ERROR)
        .build()
    )


def send_card(sdk: lark.Client, open_id: str, message_uuid: str, card: dict = CARD):
    body = (
        CreateMessageRequestBody.builder()
        .receive_id(open_id)
        .msg_type("interactive")
        .content(json.dumps(card))
        .uuid(message_uuid)
        .build()
    )
    request = CreateMessageRequest.builder().receive_id_type("open_id").request_body(body).build()
    return sdk.im.v1.message.create(request)


# --- The client -----------------------------------------------------------------------------


def test_the_sdk_takes_an_origin_and_the_sandbox_answers_at_one(origin, sandbox_base_url):
    """lark-oapi's ``domain`` must be an origin: it refuses the sandbox's base URL, which has a
    path. So the sandbox answers at the root of the console's host (``origin_urls``) as it
    does under its base URL."""
    with pytest.raises(ValueError, match="origin"):
        lark.Client.builder().domain(sandbox_base_url)

    at_origin = requests.get(f"{origin}/open-apis/im/v1/chats", timeout=5)
    under_base = requests.get(f"{sandbox_base_url}/open-apis/im/v1/chats", timeout=5)

    assert at_origin.json()["code"] == 99991661  # no token: the sandbox's answer, not a page
    assert (at_origin.status_code, at_origin.json()) == (under_base.status_code, under_base.json())


def test_the_sdk_gets_a_tenant_and_an_app_token(sdk, sandbox_app):
    tenant = sdk.auth.v3.tenant_access_token.internal(
        InternalTenantAccessTokenRequest.builder()
        .request_body(
            InternalTenantAccessTokenRequestBody.builder()
            .app_id(sandbox_app.app_id)
            .app_secret(sandbox_app.app_secret)
            .build()
        )
        .build()
    )
    app = sdk.auth.v3.app_access_token.internal(
        InternalAppAccessTokenRequest.builder()
        .request_body(
            InternalAppAccessTokenRequestBody.builder()
            .app_id(sandbox_app.app_id)
            .app_secret(sandbox_app.app_secret)
            .build()
        )
        .build()
    )

    tenant_answer = json.loads(tenant.raw.content)
    app_answer = json.loads(app.raw.content)
    assert tenant.success()
    assert app.success()
    assert tenant_answer["tenant_access_token"].startswith("t-")
    assert app_answer["app_access_token"].startswith("t-")
    assert app_answer["app_access_token"] != tenant_answer["tenant_access_token"]
    assert 0 < app_answer["expire"] <= 7200


def test_a_wrong_secret_gets_feishus_code(origin, sandbox_app):
    answer = requests.post(
        origin + "/open-apis/auth/v3/app_access_token/internal",
        json={"app_id": sandbox_app.app_id, "app_secret": "wrong"},
        timeout=5,
    )

    assert answer.json() == {"code": 10014, "msg": "app secret invalid"}


def test_the_sdk_sends_a_card_once_per_uuid_and_patches_it(sdk, sandbox_app, sandbox_people):
    alice = sandbox_app.open_id_of(sandbox_people["alice"])
    message_uuid = str(uuid.uuid4())

    first = send_card(sdk, alice, message_uuid)
    again = send_card(sdk, alice, message_uuid)
    updated = {**CARD, "header": {**CARD["header"], "template": "green"}}
    patched = sdk.im.v1.message.patch(
        PatchMessageRequest.builder()
        .message_id(first.data.message_id)
        .request_body(PatchMessageRequestBody.builder().content(json.dumps(updated)).build())
        .build()
    )

    assert first.success(), first.msg
    assert again.data.message_id == first.data.message_id
    assert patched.success(), patched.msg
    message = SandboxMessage.objects.get(message_id=first.data.message_id)
    assert json.loads(message.content)["header"]["template"] == "green"
    assert SandboxMessage.objects.count() == 1


def test_the_sdk_lists_the_bots_chats(sdk, sandbox_chat):
    answer = sdk.im.v1.chat.list(ListChatRequest.builder().page_size(20).build())

    assert answer.success(), answer.msg
    assert [(c.chat_id, c.name) for c in answer.data.items] == [
        (sandbox_chat.chat_id, "SRE on-call")
    ]
    assert answer.data.has_more is False


def test_the_sdk_finds_people_by_email(sdk, sandbox_app, sandbox_people):
    answer = sdk.contact.v3.user.batch_get_id(
        BatchGetIdUserRequest.builder()
        .user_id_type("open_id")
        .request_body(
            BatchGetIdUserRequestBody.builder()
            .emails(["bob@example.com", "nobody@example.com"])
            .build()
        )
        .build()
    )

    assert answer.success(), answer.msg
    found = {u.email: u.user_id for u in answer.data.user_list}
    assert found["bob@example.com"] == sandbox_app.open_id_of(sandbox_people["bob"])
    assert found.get("nobody@example.com") is None


def test_the_sdk_reads_user_info_with_a_user_token(
    client, sdk, sandbox_client, sandbox_app, sandbox_people
):
    carol = sandbox_people["carol"]
    code = sign_in(client, sandbox_app, carol)["code"]
    user_token = sandbox_client.exchange_code(code, REDIRECT_URI)["access_token"]

    answer = sdk.authen.v1.user_info.get(
        GetUserInfoRequest.builder().build(),
        lark.RequestOption.builder().user_access_token(user_token).build(),
    )

    assert answer.success(), answer.msg
    assert answer.data.open_id == sandbox_app.open_id_of(carol)
    assert (answer.data.name, answer.data.email) == ("Carol Wang", "carol@example.com")


def test_an_unknown_path_answers_feishus_json_not_a_page(sdk, origin):
    request = (
        lark.BaseRequest.builder()
        .http_method(lark.HttpMethod.GET)
        .uri("/open-apis/im/v9/nothing-here")
        .token_types({lark.AccessTokenType.TENANT})
        .build()
    )

    answer = sdk.request(request)
    plain = requests.post(origin + "/open-apis/no/such/api", json={}, timeout=5)

    assert answer.code == 99991201
    assert plain.status_code == 404
    assert plain.headers["Content-Type"] == "application/json"
    assert plain.json() == {"code": 99991201, "msg": "resource not find"}


# --- The event dispatcher ---------------------------------------------------------------------


class Receiver:
    """What an app built on the SDK would register: it keeps what it was given."""

    def __init__(self):
        self.messages: list = []
        self.clicks: list = []

    def on_message(self, data) -> None:
        self.messages.append(data)

    def on_click(self, data):
        self.clicks.append(data)
        from lark_oapi.event.callback.model.p2_card_action_trigger import (
            P2CardActionTriggerResponse,
        )

        return P2CardActionTriggerResponse({"toast": {"type": "success", "content": "ok"}})


def dispatcher(sandbox_app, receiver: Receiver) -> lark.EventDispatcherHandler:
    return (
        lark.EventDispatcherHandler.builder(sandbox_app.encrypt_key, sandbox_app.verification_token)
        .register_p2_im_message_receive_v1(receiver.on_message)
        .register_p2_card_action_trigger(receiver.on_click)
        .build()
    )


def handled(handler: lark.EventDispatcherHandler, push: send.Push):
    request = RawRequest()
    request.uri = "/callback"
    request.body = push.body
    request.headers = push.headers
    return handler.do(request)


def test_the_dispatcher_verifies_and_decrypts_the_sandboxs_event(
    sandbox_app, sandbox_people, sandbox_chat
):
    receiver = Receiver()
    message = SandboxMessage.objects.create(
        app=sandbox_app,
        chat=sandbox_chat,
        sender=sandbox_people["alice"],
        msg_type="text",
        content=json.dumps({"text": "list"}),
    )
    event = send.message_received_event(sandbox_app, message, "@_user_1 list")
    push = send.prepare(sandbox_app, "https://app.example.com/callback", event, signing="event")

    answer = handled(dispatcher(sandbox_app, receiver), push)

    assert json.loads(push.body).keys() == {"encrypt"}  # encrypted on the wire
    assert answer.status_code == 200, answer.content
    (received,) = receiver.messages
    assert received.header.event_id == event["header"]["event_id"]
    assert received.event.message.message_id == message.message_id
    assert received.event.sender.sender_id.open_id == sandbox_app.open_id_of(
        sandbox_people["alice"]
    )


def test_the_dispatcher_verifies_the_sandboxs_card_callback(
    sandbox_app, sandbox_people, sandbox_chat
):
    receiver = Receiver()
    card = SandboxMessage.objects.create(
        app=sandbox_app, chat=sandbox_chat, msg_type="interactive", content=json.dumps(CARD)
    )
    payload = send.card_action_trigger(
        sandbox_app, sandbox_people["bob"], card, Click("button", {"action": "claim"}), "c-1"
    )
    push = send.prepare(sandbox_app, "https://app.example.com/callback", payload, signing="event")

    answer = handled(dispatcher(sandbox_app, receiver), push)

    assert answer.status_code == 200, answer.content
    assert json.loads(answer.content)["toast"]["content"] == "ok"
    (click,) = receiver.clicks
    assert click.event.action.value == {"action": "claim"}
    assert click.event.context.open_message_id == card.message_id


def test_the_dispatcher_refuses_a_body_changed_after_signing(sandbox_app, sandbox_people):
    receiver = Receiver()
    event = send.event_envelope(sandbox_app, "im.message.receive_v1", {"message": {}})
    push = send.prepare(sandbox_app, "https://app.example.com/callback", event, signing="event")
    tampered = send.Push(push.url, push.body.replace(b'"}', b'A"}'), push.headers, push.payload)

    answer = handled(dispatcher(sandbox_app, receiver), tampered)

    assert answer.status_code == 500
    assert receiver.messages == []


def test_the_dispatcher_answers_the_sandboxs_url_verification(sandbox_app):
    payload = send.url_verification(sandbox_app)
    push = send.prepare(sandbox_app, "https://app.example.com/callback", payload, signing="none")

    answer = handled(dispatcher(sandbox_app, Receiver()), push)

    assert json.loads(answer.content) == {"challenge": payload["challenge"]}
