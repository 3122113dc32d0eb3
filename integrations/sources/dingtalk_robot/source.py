"""The DingTalk custom robot's format as an alert source (the parser is in ``parser.py``).

A tool that can only notify a DingTalk group's custom robot feeds the console by changing one
URL: the push URL, or the robot's own URL shape under the console
(``/push/dingtalk_robot/robot/send?access_token=<token>``, ``views.py``). The tool reads the
robot's answers, so it gets them here too
(https://open.dingtalk.com/document/orgapp/custom-robots-send-group-messages):

* stored: ``{"errcode": 0, "errmsg": "ok"}``;
* a wrong signature: errcode 310000 ``sign not match``; a timestamp more than an hour from now:
  errcode 310000 ``invalid timestamp`` (the robot's words for its security settings);
* a body the console cannot use: errcode 40035 with the reason;
* an unknown token (the robot's URL only): errcode 300001 ``token is not exist``.

Signing, when the source has a signing secret (the robot's "加签"): the query string carries
``timestamp`` (milliseconds) and ``sign`` = urlencode(base64(HMAC-SHA256(key = secret, message
= timestamp + "\\n" + secret))). DingTalk answers these errors with HTTP 200; the console says
400 / 401 as well, so that a tool that looks only at the status sees the failure too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from integrations.sources.dingtalk_robot import parser
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

SEND_PATH = "robot/send"
SECURITY_FAILED = 310000
BAD_PARAMETER = 40035
TOKEN_NOT_FOUND = 300001

TEST_MESSAGE = '{"msgtype":"text","text":{"content":"[FIRING] Test alert from the console"}}'


def answer(status: int, errcode: int, errmsg: str, **extra: Any) -> Answer:
    """The robot's answer shape."""
    return Answer(status, {"errcode": errcode, "errmsg": errmsg, **extra})


class DingTalkRobotSource(MessageRulesOptions, SourceKind):
    kind = "dingtalk_robot"
    label = _("DingTalk robot format")
    sender = _(
        "any tool that notifies a DingTalk custom robot (text, markdown, link, actionCard or "
        "feedCard messages), pointed at the push URL or at "
        "`/push/dingtalk_robot/robot/send?access_token=<token>`"
    )

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        if push.secret:
            check_signature(push.query, push.secret, now=time.time())
        return parser.parse(payload, rules_of(push.options))

    def accepted_answer(self, result: AcceptResult) -> Answer:
        """The robot's success, plus the console's ``request_id`` (which tools ignore)."""
        return answer(200, 0, "ok", request_id=result.request_id)

    def invalid_answer(self, error: PayloadError) -> Answer:
        return answer(400, BAD_PARAMETER, error.message)

    def refused_answer(self, error: SourceRefused) -> Answer:
        words = "invalid timestamp" if error.code == "timestamp_out_of_window" else "sign not match"
        return answer(error.status, SECURITY_FAILED, words)

    def urls(self) -> Sequence[URLPattern]:
        # Imported here: the view needs the models, and the registry is read while they load.
        from integrations.sources.dingtalk_robot.views import send

        return [path(SEND_PATH, send, name="dingtalk-robot-send")]

    def setup_guide(self, push_url: str) -> SetupGuide:
        token = push_url.rstrip("/").rsplit("/", 1)[-1]
        send_url = f"{settings.PUBLIC_BASE_URL}/push/{self.kind}/{SEND_PATH}?access_token={token}"
        return SetupGuide(
            [
                str(
                    _(
                        "In the tool, where it asks for a DingTalk robot's webhook address, "
                        "enter {url} (or the push URL: {push_url})."
                    ).format(url=send_url, push_url=push_url)
                ),
                str(
                    _(
                        "If the tool signs its messages (the robot's 加签 secret, SEC...), give "
                        "this source the same signing secret; leave it empty otherwise."
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
                    f"curl -sS '{send_url}' -H 'Content-Type: application/json' "
                    f"-d '{TEST_MESSAGE}'",
                )
            ],
        )


def expected_sign(timestamp: int, secret: str) -> str:
    """DingTalk's signature (before URL-encoding): the key is the secret, the message the
    timestamp and the secret."""
    return hmac_sha256_base64(secret, f"{timestamp}\n{secret}")


def check_signature(query: Any, secret: str, *, now: float) -> None:
    """``SourceRefused`` (401) unless the query's ``timestamp`` (ms) and ``sign`` are the robot's
    signature with ``secret``, made within an hour of ``now``."""
    timestamp = integer(query.get("timestamp"))
    sign = query.get("sign") or ""
    if timestamp is None or not sign:
        raise SourceRefused(
            401,
            "signature_missing",
            "This source checks signatures: timestamp and sign are required.",
        )
    if not timestamp_within_window(timestamp / 1000, now):
        raise SourceRefused(
            401, "timestamp_out_of_window", "The timestamp is more than an hour from now."
        )
    expected = expected_sign(timestamp, secret)
    # A tool that forgot to URL-encode the sign sends "+" as is, which a query string reads
    # as a blank: put it back.
    if not signature_matches(expected, sign.replace(" ", "+")):
        raise SourceRefused(401, "signature_mismatch", "The sign does not match.")
