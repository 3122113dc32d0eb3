"""Every way the Feishu sign-in can fail, as something a person can act on.

A ``LinkProblem`` is rendered by ``templates/feishu/oauth_problem.html`` with the app's name,
what happened, what to do and a "try again" link. Feishu's codes are those of the v2 token
endpoint (https://open.feishu.cn/document/authentication-management/access-token/get-user-access-token).
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.feishu.client import errors

ASK_ADMIN = "Ask the console's administrator to check the app's settings."


@dataclass(frozen=True)
class LinkProblem:
    """``kind`` is stable (logs, tests); ``title`` and ``advice`` are for the person."""

    kind: str
    status: int
    title: str
    explanation: str
    advice: str
    code: int | None = None


CANCELLED = LinkProblem(
    "cancelled",
    403,
    "Sign-in was cancelled",
    "Feishu did not share your identity with the console because the request was declined.",
    "Try again and choose Authorize on Feishu's page to link your account.",
)
STATE_INVALID = LinkProblem(
    "state_invalid",
    400,
    "This sign-in link is no longer valid",
    "The sign-in either took longer than 10 minutes, was already completed, was started in "
    "another browser or for another app, or its link was altered.",
    "Start again from the app; each sign-in link works once, in the browser that opened it.",
)
CODE_INVALID = LinkProblem(
    "code_invalid",
    400,
    "This sign-in was already used or has expired",
    "Feishu's one-time sign-in code was already used or is older than 5 minutes.",
    "Start again from the app.",
)
REDIRECT_NOT_REGISTERED = LinkProblem(
    "redirect_url_not_registered",
    400,
    "The app's redirect URL is not registered",
    "Feishu refused the sign-in because the console's OAuth redirect URL is not one of the "
    "app's redirect URLs (Feishu code 20029 / 20071).",
    "An administrator must add the redirect URL shown on the app's page in the console under "
    "Security Settings → Redirect URLs in the Feishu developer console, then publish the app.",
)
OUTSIDE_AVAILABILITY = LinkProblem(
    "outside_availability",
    403,
    "The app is not available to you",
    "Your Feishu account is outside the app's availability range (Feishu code 20010).",
    "Ask your Feishu administrator to add you to the app's availability range (Version "
    "Management & Release), then try again.",
)
CREDENTIALS_REFUSED = LinkProblem(
    "credentials_refused",
    502,
    "Feishu refused the app's credentials",
    "The App ID or App Secret stored in the console does not match the app in Feishu.",
    ASK_ADMIN,
)
UNREACHABLE = LinkProblem(
    "unreachable",
    502,
    "Feishu could not be reached",
    "The console could not get an answer from Feishu just now.",
    "Wait a moment and try again. If it keeps happening, tell the console's administrator.",
)
ACCOUNT_INACTIVE = LinkProblem(
    "account_inactive",
    403,
    "Your console account is deactivated",
    "Your Feishu account is linked to a console account that has been deactivated.",
    "Ask the console's administrator to reactivate it.",
)
LINKED_TO_SOMEONE_ELSE = LinkProblem(
    "linked_to_someone_else",
    403,
    "This Feishu account is linked to another console account",
    "The Feishu account you signed in with already belongs to another console user.",
    "Sign in to the console as that user, or ask an administrator to unlink it first.",
)
NO_IDENTITY = LinkProblem(
    "no_identity",
    502,
    "Feishu did not say who you are",
    "Feishu's answer did not include your account's identifier.",
    "Try again. If it keeps happening, tell the console's administrator.",
)

DESTINATION_REFUSED = LinkProblem(
    "destination_refused",
    502,
    "The console will not call this app's API address",
    "The app's API base URL points at an address the console does not call (this machine, "
    "a private network or a cloud metadata service), so nothing was sent there.",
    ASK_ADMIN,
)

CODE_PROBLEMS: dict[int, LinkProblem] = {
    20003: CODE_INVALID,  # code not found
    20004: CODE_INVALID,  # code expired
    20065: CODE_INVALID,  # code already used
    20049: STATE_INVALID,  # PKCE verifier does not match: not the browser that started
    20010: OUTSIDE_AVAILABILITY,
    20029: REDIRECT_NOT_REGISTERED,
    20071: REDIRECT_NOT_REGISTERED,
    20002: CREDENTIALS_REFUSED,  # client secret wrong
    20024: CREDENTIALS_REFUSED,  # code of another client id
    20048: CREDENTIALS_REFUSED,  # app not found
}


def from_authorize_error(error: str) -> LinkProblem:
    """The ``error`` Feishu's consent page sent back instead of a code."""
    if error == "access_denied":
        return CANCELLED
    return LinkProblem(
        "authorize_error",
        400,
        "Feishu did not complete the sign-in",
        "Feishu's sign-in page returned an error instead of your identity.",
        "Try again. If it keeps happening, tell the console's administrator.",
    )


def from_feishu_error(error: errors.FeishuError) -> LinkProblem:
    """A failed token exchange or user_info call."""
    if isinstance(error, errors.TransientError | errors.RateLimited):
        return UNREACHABLE
    if isinstance(error, errors.DestinationRefused):
        return DESTINATION_REFUSED
    if error.code in CODE_PROBLEMS:
        return CODE_PROBLEMS[error.code]
    return LinkProblem(
        "feishu_refused",
        502,
        "Feishu refused the sign-in",
        f"Feishu answered with code {error.code}.",
        "Try again. If it keeps happening, tell the console's administrator the code above.",
        code=error.code,
    )
