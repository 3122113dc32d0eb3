"""The Feishu / Lark custom robot's format as an alert source (the parser is in ``parser.py``).

A tool that can only notify a Feishu group's custom robot feeds the console by changing one URL:
the push URL, or the robot's own URL shape under the console
(``/push/feishu_robot/open-apis/bot/v2/hook/<token>``, ``views.py``). The tool reads the
robot's answers, so it gets them here too
(https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot):

* stored: ``{"code": 0, "msg": "success", "data": {}}``, with the older ``StatusCode`` /
  ``StatusMessage`` / ``Extra`` fields the robot still sends for tools written against them;
* a body the console cannot use: code 9499 ``Bad Request`` (with the reason);
* a wrong or stale signature: code 19021 (the robot's words);
* an unknown token (the robot's URL only): code 19001.

Signing, when the source has a signing secret (the robot's "signature verification"): the body
carries ``timestamp`` (seconds) and ``sign`` = base64(HMAC-SHA256(key = timestamp + "\\n" +
secret, message = empty)); a timestamp more than an hour from now is refused like a wrong sign.
Feishu answers these errors with HTTP 200; the console says 400 / 401 as well, so that a tool
that looks only at the status sees the failure too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from integrations.sources.feishu_robot import parser
from integrations.sources.message_rules import (
    MessageRulesOptions,
    hmac_sha256_base64,
    integer,
    rules_of,
    signature_matches,
    timestamp_within_window,
)
from oncall.events import AcceptResult, AlertEvent, PayloadError
from oncall.sources import Answer, PushRequest, SetupGuide, Snippet, SourceKind, SourceRefused

HOOK_PATH = "open-apis/bot/v2/hook/"
SUCCESS = {
    "code": 0,
    "msg": "success",
    "data": {},
    "Extra": None,
    "StatusCode": 0,
    "StatusMessage": "success",
}
BAD_REQUEST = 9499
TOKEN_INVALID = 19001
SIGN_MISMATCH = 19021
SIGN_MISMATCH_MESSAGE = "sign match fail or timestamp is not within one hour from current time"

TEST_MESSAGE = '{"msg_type":"text","content":{"text":"[FIRING] Test alert from the console"}}'


def answer(status: int, code: int, msg: str) -> Answer:
    """The robot's answer shape with ``code`` and ``msg``."""
    return Answer(status, {"code": code, "msg": msg, "data": {}})


class FeishuRobotSource(MessageRulesOptions, SourceKind):
    kind = "feishu_robot"
    label = _("Feishu / Lark robot format")
    sender = _(
        "any tool that notifies a Feishu / Lark custom robot (text, post or card messages), "
        "pointed at the push URL or at `/push/feishu_robot/open-apis/bot/v2/hook/<token>`"
    )

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        if push.secret and isinstance(payload, dict):
            check_signature(payload, push.secret, now=time.time())
        return parser.parse(payload, rules_of(push.options))

    def accepted_answer(self, result: AcceptResult) -> Answer:
        """The robot's success, plus the console's ``request_id`` (which tools ignore)."""
        return Answer(200, {**SUCCESS, "request_id": result.request_id})

    def invalid_answer(self, error: PayloadError) -> Answer:
        return answer(400, BAD_REQUEST, f"Bad Request: {error.message}")

    def refused_answer(self, error: SourceRefused) -> Answer:
        return answer(error.status, SIGN_MISMATCH, SIGN_MISMATCH_MESSAGE)

    def urls(self) -> Sequence[URLPattern]:
        # Imported here: the view needs the models, and the registry is read while they load.
        from integrations.sources.feishu_robot.views import hook

        return [path(f"{HOOK_PATH}<str:token>", hook, name="feishu-robot-hook")]

    def setup_guide(self, push_url: str) -> SetupGuide:
        token = push_url.rstrip("/").rsplit("/", 1)[-1]
        hook_url = f"{settings.PUBLIC_BASE_URL}/push/{self.kind}/{HOOK_PATH}{token}"
        return SetupGuide(
            [
                str(
                    _(
                        "In the tool, where it asks for a Feishu / Lark robot's webhook "
                        "address, enter {url} (or the push URL: {push_url})."
                    ).format(url=hook_url, push_url=push_url)
                ),
                str(
                    _(
                        "If the tool signs its messages (the robot's signature verification), "
                        "give this source the same signing secret; leave it empty otherwise."
                    )
                ),
                str(
                    _(
                        "A message is a recovery when its title holds a recovery word, and its "
                        "severity comes from the words in the title: both lists are in the "
                        "options."
                    )
                ),
            ],
            [
                Snippet(
                    str(_("Send a test message")),
                    "sh",
                    f"curl -sS '{hook_url}' -H 'Content-Type: application/json' "
                    f"-d '{TEST_MESSAGE}'",
                )
            ],
        )


def expected_sign(timestamp: int, secret: str) -> str:
    """Feishu's signature: the key is the timestamp and the secret, the message is empty."""
    return hmac_sha256_base64(f"{timestamp}\n{secret}", "")


def check_signature(payload: dict[str, Any], secret: str, *, now: float) -> None:
    """``SourceRefused`` (401) unless the body's ``timestamp`` and ``sign`` are the robot's
    signature with ``secret``, made within an hour of ``now``."""
    timestamp = integer(payload.get("timestamp"))
    sign = payload.get("sign")
    if timestamp is None or not isinstance(sign, str) or not sign:
        raise SourceRefused(
            401,
            "signature_missing",
            "This source checks signatures: timestamp and sign are required.",
        )
    if not timestamp_within_window(timestamp, now):
        raise SourceRefused(
            401, "timestamp_out_of_window", "The timestamp is more than an hour from now."
        )
    if not signature_matches(expected_sign(timestamp, secret), sign):
        raise SourceRefused(401, "signature_mismatch", "The sign does not match.")
