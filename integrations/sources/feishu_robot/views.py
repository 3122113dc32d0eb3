"""The Feishu robot's own URL shape, ``POST /push/feishu_robot/open-apis/bot/v2/hook/<token>``,
for tools that take a Feishu robot address (or only its token): the token is the source's push
token. Refusals are in the robot's shape too, as the tool only knows that one."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.sources.feishu_robot.source import (
    BAD_REQUEST,
    TOKEN_INVALID,
    FeishuRobotSource,
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
def hook(request: HttpRequest, token: str) -> JsonResponse:
    try:
        require_post(request)
        source = authenticate(token, kind=FeishuRobotSource.kind)
        body = read_body(request, form=False)
    except Rejected as rejected:
        metrics.push_answered(FeishuRobotSource.kind, rejected.status, rejected.code)
        refusal = robot_refusal(rejected)
        return JsonResponse(refusal.body, status=refusal.status, headers=rejected.headers)
    return accept(source, body, push_request(request, source)._replace(raw_body=body.raw))


def robot_refusal(rejected: Rejected) -> Answer:
    """A refusal before parsing, in the robot's shape."""
    if rejected.status in (401, 403):
        # Feishu's word for a webhook it does not know; the console's reason follows.
        return answer(
            rejected.status,
            TOKEN_INVALID,
            f"param invalid: incoming webhook access token invalid ({rejected.message})",
        )
    return answer(rejected.status, BAD_REQUEST, f"Bad Request: {rejected.message}")
