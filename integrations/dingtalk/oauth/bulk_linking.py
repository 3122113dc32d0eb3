"""One-click linking for admins: link console users to a DingTalk app by their mobile numbers,
instead of waiting for each person to open the app once.

DingTalk finds an organisation's member by mobile number (``topapi/v2/user/getbymobile``,
permission ``qyapi_get_member_by_mobile``) and describes them by userid (``topapi/v2/user/get``:
unionId, name, e-mail); it offers no look-up by e-mail. Console accounts are Django's users,
which have no mobile number, so the admin gives one per person ("alice, 13800000001"). Each
person costs two calls of the month's budget. Staff and superusers are never linked this way
(``oncall.permissions.may_sign_in_by_email``, the same rule as for Feishu): a link signs its
DingTalk account in to the console without a password, so they link from a session they signed
in to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError
from django.db.models import Q
from django.utils.translation import gettext as _

from integrations.dingtalk.client import errors
from integrations.dingtalk.client.open_api import DingTalkClient
from integrations.dingtalk.models import DingTalkAccount, DingTalkApp
from integrations.dingtalk.oauth import linking
from integrations.dingtalk.oauth.provider import DingTalkIdentity
from oncall.permissions import may_sign_in_by_email

MAX_PEOPLE = 200
# As DingTalk's console accepts them: digits, an optional "+" and country code, dashes.
_MOBILE = re.compile(r"^\+?[0-9][0-9-]{4,19}$")
NOT_FOUND_CODE = "60121"


class Outcome:
    LINKED = "linked"
    ALREADY = "already linked"
    UNKNOWN_USER = "no such console user"
    BAD_LINE = "unreadable line"
    STAFF = "staff"
    NOT_FOUND = "not found in DingTalk"
    TAKEN = "taken"
    FAILED = "failed"


@dataclass(frozen=True)
class Row:
    """One line of the admin's list and what became of it."""

    line: str
    outcome: str
    detail: str = ""
    user: AbstractBaseUser | None = None

    @property
    def linked(self) -> bool:
        return self.outcome == Outcome.LINKED


def parse(text: str) -> list[tuple[str, str]]:
    """``username or e-mail, mobile`` per line (comma, tab or spaces between); blank lines
    are skipped."""
    pairs = []
    for line in text.splitlines():
        if line.strip():
            parts = re.split(r"[,\t ]+", line.strip(), maxsplit=1)
            who, mobile = [*parts, ""][:2]
            pairs.append((who.strip(), mobile.strip()))
    return pairs


def link_by_mobile(app: DingTalkApp, pairs: list[tuple[str, str]]) -> list[Row]:
    """Look each person up by mobile and link them; one ``Row`` per pair, in order."""
    client = app.client()
    try:
        return [_one(app, client, who, mobile) for who, mobile in pairs[:MAX_PEOPLE]]
    finally:
        client.session.close()


def _console_user(who: str) -> AbstractBaseUser | None:
    users = get_user_model().objects.filter(Q(username__iexact=who) | Q(email__iexact=who))
    found = list(users.filter(is_active=True)[:2])
    return found[0] if len(found) == 1 else None


def _one(app: DingTalkApp, client: DingTalkClient, who: str, mobile: str) -> Row:
    line = f"{who}, {mobile}"
    if not who or not _MOBILE.match(mobile):
        return Row(line, Outcome.BAD_LINE, _("Write a username or e-mail, then a mobile number."))
    user = _console_user(who)
    if user is None:
        return Row(
            line,
            Outcome.UNKNOWN_USER,
            _("No single active console user has this username or e-mail."),
        )
    if not may_sign_in_by_email(user):
        reason = _("Staff and superusers link their own account while signed in.")
        return Row(line, Outcome.STAFF, reason, user)
    if linking.account_of(user, app) is not None:
        return Row(line, Outcome.ALREADY, "", user)
    try:
        identity = _identity(client, mobile)
    except errors.DingTalkError as exc:
        if exc.code == NOT_FOUND_CODE:
            reason = _("No member of the organisation has this mobile number.")
            return Row(line, Outcome.NOT_FOUND, reason, user)
        reason = errors.explain(exc, doing=_("looking the person up by mobile"))
        return Row(line, Outcome.FAILED, reason, user)
    return _link(app, user, identity, line)


def _identity(client: DingTalkClient, mobile: str) -> DingTalkIdentity:
    user_id = client.userid_by_mobile(mobile)
    detail = client.user_detail(user_id)
    return DingTalkIdentity(
        union_id=str(detail.get("unionid") or ""),
        user_id=user_id,
        name=str(detail.get("name") or ""),
        email=str(detail.get("email") or ""),
        avatar_url=str(detail.get("avatar") or ""),
    )


def _link(app: DingTalkApp, user: AbstractBaseUser, identity: DingTalkIdentity, line: str) -> Row:
    if not identity.union_id:
        return Row(line, Outcome.FAILED, _("DingTalk's answer has no unionId."), user)
    holder = DingTalkAccount.objects.filter(app=app, union_id=identity.union_id).first()
    if holder is not None and holder.user_id != user.pk:
        return Row(line, Outcome.TAKEN, _("This DingTalk account is linked to someone else."), user)
    try:
        linking.link(user, app, identity)
    except IntegrityError:  # linked by someone else between the check and the write
        return Row(line, Outcome.TAKEN, _("This DingTalk account is linked to someone else."), user)
    return Row(line, Outcome.LINKED, identity.name, user)
