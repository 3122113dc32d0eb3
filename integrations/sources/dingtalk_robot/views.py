"""The DingTalk robot's own URL shape, ``POST /push/dingtalk_robot/robot/send?access_token=
<token>``, for tools that take a DingTalk robot address (or only its access token): the token
is the source's push token. Refusals are in the robot's shape too, as the tool only knows that
one."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.sources.dingtalk_robot.source import (
    BAD_PARAMETER,
    TOKEN_NOT_FOUND,
    DingTalkRobotSource,
    answer,
)
from oncall import metrics
from oncall.sources import Answer
from oncall.views.push import (
    Rejected,
    accept,
    authenticate,
    push_request,
    read_body,
    require_post,
)


@csrf_exempt
def send(request: HttpRequest) -> JsonResponse:
    try:
        require_post(request)
        source = authenticate(request.GET.get("access_token", ""), kind=DingTalkRobotSource.kind)
        body = read_body(request, form=False)
    except Rejected as rejected:
        metrics.push_answered(DingTalkRobotSource.kind, rejected.status, rejected.code)
        refusal = robot_refusal(rejected)
        return JsonResponse(refusal.body, status=refusal.status, headers=rejected.headers)
    return accept(source, body, push_request(request, source)._replace(raw_body=body.raw))


def robot_refusal(rejected: Rejected) -> Answer:
    """A refusal before parsing, in the robot's shape."""
    if rejected.status in (401, 403):
        # DingTalk's words for an access token it does not know; the console's reason follows.
        return answer(rejected.status, TOKEN_NOT_FOUND, f"token is not exist ({rejected.message})")
    return answer(rejected.status, BAD_PARAMETER, str(rejected.message))
