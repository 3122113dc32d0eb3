"""Pinning a message: ``POST /open-apis/im/v1/pins``.

Feishu's page: https://open.feishu.cn/document/server-docs/im-v1/pin/create. The bot must be in
the message's chat; pinning a pinned message answers the existing pin (so a retry is harmless).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from integrations.feishu_sandbox.api import Call, invalid_field, open_api, success
from integrations.feishu_sandbox.api_messages import conversation_of, visible_message
from integrations.feishu_sandbox.models import SandboxMessage


@open_api("im.v1.pin.create", methods=["POST"])
def create_pin(call: Call) -> dict[str, Any]:
    app = call.tenant_app
    message_id = call.body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise invalid_field("message_id is required")
    message = visible_message(app, message_id)
    conversation_of(app, message)  # the bot must be in the chat (230002), which exists
    if message.pinned_at is None:
        message.pinned_at = timezone.now()
        SandboxMessage.objects.filter(pk=message.pk).update(pinned_at=message.pinned_at)
    return success({"pin": pin_data(app.app_id, message)})


def pin_data(app_id: str, message: SandboxMessage) -> dict[str, Any]:
    assert message.pinned_at is not None
    return {
        "message_id": message.message_id,
        "chat_id": message.chat.chat_id if message.chat else "",
        "operator_id": app_id,
        "operator_id_type": "app_id",
        "create_time": str(int(message.pinned_at.timestamp() * 1000)),
    }
