"""Feishu's Open API and OAuth paths, relative to ``/sandbox/feishu/open-apis/``."""

from django.urls import path, re_path

from integrations.feishu_sandbox import (
    api,
    api_auth,
    api_chats,
    api_images,
    api_messages,
    api_pins,
    oauth,
)

urlpatterns = [
    path(
        "auth/v3/tenant_access_token/internal",
        api_auth.tenant_access_token,
        name="api-tenant-access-token",
    ),
    path(
        "auth/v3/app_access_token/internal",
        api_auth.app_access_token,
        name="api-app-access-token",
    ),
    path("im/v1/images", api_images.upload_image, name="api-images"),
    path("im/v1/messages", api_messages.create_message, name="api-messages"),
    path("im/v1/messages/<str:message_id>", api_messages.patch_message, name="api-message"),
    path(
        "im/v1/messages/<str:message_id>/reply",
        api_messages.reply_message,
        name="api-message-reply",
    ),
    path("interactive/v1/card/update", api_messages.update_card, name="api-card-update"),
    path("im/v1/pins", api_pins.create_pin, name="api-pins"),
    path("im/v1/chats", api_chats.chats, name="api-chats"),
    path("im/v1/chats/<str:chat_id>/members", api_chats.add_members, name="api-chat-members"),
    path("contact/v3/users/batch_get_id", api_chats.batch_get_id, name="api-batch-get-id"),
    path("authen/v1/authorize", oauth.authorize, name="api-oauth-authorize"),
    path("authen/v2/oauth/token", oauth.token, name="api-oauth-token"),
    path("authen/v1/user_info", oauth.user_info, name="api-user-info"),
    # Last: any other path answers in Feishu's JSON shape, not the console's HTML 404.
    re_path(r"^(?P<unknown>.*)$", api.not_found, name="api-not-found"),
]
