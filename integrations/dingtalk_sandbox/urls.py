"""URLs of the DingTalk sandbox, mounted at ``/sandbox/dingtalk/`` when DINGTALK_SANDBOX_ENABLED.

``v1.0/...`` mirrors DingTalk's API paths (the sandbox is the ``api.dingtalk.com`` of a Sandbox
app); everything else is the sandbox's own pages.
"""

from django.urls import path

from integrations.dingtalk_sandbox import (
    api,
    api_cards,
    card_pages,
    oauth,
    pages,
    scene_groups,
    stream,
)

app_name = "dingtalk_sandbox"
urlpatterns = [
    path("v1.0/oauth2/<str:corp_id>/token", api.access_token, name="api-token"),
    path("v1.0/im/v1.0/robot/interactiveCards/send", api_cards.send_card, name="api-card-send"),
    path("v1.0/im/robots/interactiveCards", api_cards.update_card, name="api-card-update"),
    path(
        "topapi/im/chat/scencegroup/interactivecard/callback/register",
        api_cards.register_card_callback,
        name="api-card-callback-register",
    ),
    path("topapi/im/chat/scenegroup/create", scene_groups.create, name="api-scene-group-create"),
    path(
        "topapi/im/chat/scenegroup/member/add",
        scene_groups.add_members,
        name="api-scene-group-add-members",
    ),
    path("cards/", card_pages.cards, name="cards"),
    path("cards/<int:card_id>/", card_pages.card, name="card"),
    path("cards/<int:card_id>/click", card_pages.click, name="card-click"),
    path("v1.0/oauth2/userAccessToken", oauth.user_access_token, name="api-user-token"),
    path("v1.0/contact/users/me", oauth.users_me, name="api-users-me"),
    path("topapi/user/getbyunionid", oauth.user_by_unionid, name="api-user-by-unionid"),
    path("topapi/v2/user/getbymobile", oauth.user_by_mobile, name="api-user-by-mobile"),
    path("topapi/v2/user/get", oauth.user_detail, name="api-user-detail"),
    path("v1.0/gateway/connections/open", stream.open_connection, name="api-stream-open"),
    path("oauth2/auth", oauth.authorize, name="oauth-authorize"),
    path("", pages.home, name="home"),
    path("apps/<str:client_id>/", pages.app_detail, name="app"),
    path("apps/<str:client_id>/verify", pages.app_verify, name="app-verify"),
    path("groups/", pages.group_create, name="group-create"),
    path("groups/<str:group_id>/rename", pages.group_rename, name="group-rename"),
    path("groups/<str:group_id>/install", pages.group_install, name="group-install"),
    path("groups/<str:group_id>/uninstall", pages.group_uninstall, name="group-uninstall"),
]
