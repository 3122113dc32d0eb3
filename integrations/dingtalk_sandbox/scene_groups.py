"""The sandbox's scene groups, as DingTalk's legacy API answers
``POST /topapi/im/chat/scenegroup/create?access_token=``
(https://open.dingtalk.com/document/orgapp/create-a-scene-group-v2): a group made from an app's
published group template, owned by ``owner_user_id``, with ``user_ids`` (a comma-separated
text) as members and the template's group bot installed.

Answers HTTP 200 with ``errcode``: 0 and ``result{open_conversation_id, chat_id}``; 40014 for a
missing or expired token; 665036 (群模板不存在或停用) for a ``template_id`` that is not the app's
template; 60121 (找不到该用户) for an owner who is no member of the organisation; 40035 for a
missing title. Members the organisation does not know are left out, as the owner is not. The
same ``uuid`` from the same app answers the group it made before (DingTalk's "建群去重的业务id").
The group then shows on the sandbox's pages like any other, with the cards its bot sends.

``POST /topapi/im/chat/scenegroup/member/add?access_token=`` ``{open_conversation_id,
user_ids}`` adds the organisation's members it names to a scene group the app made (60121 when
it names none the organisation knows; 40035 for a group that is not the app's).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.dingtalk_sandbox.models import SandboxApp, SandboxGroup, SandboxUser, new_chat_id
from integrations.dingtalk_sandbox.oauth import NOT_FOUND, TOKEN_INVALID, _legacy

TEMPLATE_UNKNOWN = 665036
MISSING_PARAMETER = 40035


def _refused(errcode: int, errmsg: str) -> JsonResponse:
    return JsonResponse({"errcode": errcode, "errmsg": errmsg, "success": False})


@csrf_exempt
@require_POST
def create(request: HttpRequest) -> JsonResponse:
    app, body = _legacy(request)
    if app is None:
        return _refused(TOKEN_INVALID, "不合法的access_token")
    title = str(body.get("title") or "").strip()
    if not title:
        return _refused(MISSING_PARAMETER, "缺少参数 title")
    if str(body.get("template_id") or "") != app.group_template_id:
        return _refused(TEMPLATE_UNKNOWN, "群模板不存在或停用")
    owner = str(body.get("owner_user_id") or "")
    if not SandboxUser.objects.filter(user_id=owner).exists():
        return _refused(NOT_FOUND, "找不到该用户")
    group = _made(app, title, owner, _members(body, owner), str(body.get("uuid") or ""))
    result = {"open_conversation_id": group.open_conversation_id, "chat_id": group.chat_id}
    return JsonResponse({"errcode": 0, "errmsg": "ok", "success": True, "result": result})


def _members(body: dict, owner: str) -> list[str]:
    given = [part.strip() for part in str(body.get("user_ids") or "").split(",")]
    wanted = list(dict.fromkeys([owner, *(part for part in given if part)]))
    known = set(SandboxUser.objects.filter(user_id__in=wanted).values_list("user_id", flat=True))
    return [user_id for user_id in wanted if user_id in known]


@transaction.atomic
def _made(app: SandboxApp, title: str, owner: str, members: list[str], uuid: str) -> SandboxGroup:
    if uuid:
        existing = (
            SandboxGroup.objects.select_for_update()
            .filter(template_app=app, create_uuid=uuid)
            .first()
        )
        if existing is not None:
            return existing
    return SandboxGroup.objects.create(
        title=title[:120],
        template_app=app,
        robot_code=app.group_bot_id,
        chat_id=new_chat_id(),
        owner_user_id=owner,
        member_user_ids=members,
        create_uuid=uuid,
    )


@csrf_exempt
@require_POST
def add_members(request: HttpRequest) -> JsonResponse:
    app, body = _legacy(request)
    if app is None:
        return _refused(TOKEN_INVALID, "不合法的access_token")
    group = SandboxGroup.objects.filter(
        template_app=app, open_conversation_id=str(body.get("open_conversation_id") or "")
    ).first()
    if group is None:
        return _refused(MISSING_PARAMETER, "open_conversation_id 不合法")
    added = _members(body, "")  # the empty owner is no member: only the ones named
    if not added:
        return _refused(NOT_FOUND, "找不到该用户")
    group.member_user_ids = list(dict.fromkeys([*group.member_user_ids, *added]))
    group.save(update_fields=["member_user_ids"])
    return JsonResponse({"errcode": 0, "errmsg": "ok", "success": True})
