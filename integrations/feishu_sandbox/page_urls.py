"""The sandbox's own pages: its developer console, directory, chats, faults, API log and the
chat client (namespace ``feishu_sandbox``, mounted at ``/sandbox/feishu/``)."""

from django.urls import path

from integrations.feishu_sandbox import api_images, pages, pages_client

urlpatterns = [
    path("", pages.home, name="home"),
    path("apps/<str:app_id>/", pages.app_detail, name="app"),
    path("apps/<str:app_id>/encrypt-key", pages.app_encrypt_key, name="app-encrypt-key"),
    path("apps/<str:app_id>/verify", pages.app_verify, name="app-verify"),
    path("people/", pages.people, name="people"),
    path("chats/", pages.chats, name="chats"),
    path("chats/<str:chat_id>/", pages.chat_detail, name="chat"),
    path("chats/<str:chat_id>/members", pages.chat_members, name="chat-members"),
    path("chats/<str:chat_id>/bots", pages.chat_bots, name="chat-bots"),
    path("chats/<str:chat_id>/disband", pages.chat_disband, name="chat-disband"),
    path("faults/", pages.faults, name="faults"),
    path("faults/<int:pk>/delete", pages.fault_delete, name="fault-delete"),
    path("calls/", pages.calls, name="calls"),
    path("images/<str:image_key>", api_images.image, name="image"),
    path("client/", pages_client.client, name="client"),
    path("client/<str:user_id>/", pages_client.client_home, name="client-home"),
    path("client/<str:user_id>/bot/<str:app_id>/", pages_client.direct_chat, name="client-direct"),
    path("client/<str:user_id>/chat/<str:chat_id>/", pages_client.group_chat, name="client-group"),
    path(
        "client/<str:user_id>/cards/<str:message_id>/click",
        pages_client.click,
        name="client-click",
    ),
]
