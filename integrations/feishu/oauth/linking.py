"""Which console account a Feishu identity belongs to, and keeping ``LinkedAccount`` rows.

One link per (user, app) and per (app, open_id): linking a user who already has a link for the
app replaces it (the guide's "switch account").
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from integrations.chatkit.oauth import PendingIdentity
from integrations.feishu.cards import supersede
from integrations.feishu.models import FeishuApp, LinkedAccount
from integrations.feishu.oauth.provider import FeishuIdentity
from oncall.permissions import may_sign_in_by_email

PENDING_SESSION_KEY = "feishu_pending_link"
_PENDING = PendingIdentity(PENDING_SESSION_KEY)
# As long as an OAuth state lives: the person signs in locally right after the round trip.
PENDING_TTL_SECONDS = 600
USERNAME_MAX_LENGTH = 150


def linked_account(app: FeishuApp, open_id: str) -> LinkedAccount | None:
    return LinkedAccount.objects.select_related("user").filter(app=app, open_id=open_id).first()


def refresh(link: LinkedAccount, identity: FeishuIdentity) -> LinkedAccount:
    """Keep the stored profile as Feishu last described it."""
    link.union_id = identity.union_id
    link.feishu_user_id = identity.user_id
    link.name = identity.name
    link.email = identity.email or identity.enterprise_email
    link.avatar_url = identity.avatar_url
    link.save()
    return link


@transaction.atomic
def link(user: AbstractBaseUser, app: FeishuApp, identity: FeishuIdentity) -> LinkedAccount:
    """Link ``user`` to ``identity`` in ``app``, replacing the user's earlier link for the app.
    The caller has checked that the open_id is not linked to somebody else."""
    link = LinkedAccount.objects.select_for_update().filter(user=user, app=app).first()
    if link is None:
        link = LinkedAccount(user=user, app=app)
    link.open_id = identity.open_id
    refresh(link, identity)
    # The cards they were refused meanwhile: one each, the current one.
    supersede.after_linking(user, app)
    return link


def match_by_email(app: FeishuApp, identity: FeishuIdentity) -> AbstractBaseUser | None:
    """The one active console user whose email is the Feishu user's (case-insensitive).

    Feishu's ``email`` and ``enterprise_email`` are set by the tenant's administrators, not
    typed in by the person, so the tenant vouches for them: that is what makes matching on
    them safe. Ambiguity (two users with one address), or a user already linked to another
    Feishu account in this app, is left to a person to resolve by signing in. So is any
    address of a staff account or a superuser (``may_sign_in_by_email``): the tenant vouching
    for an address must not make anyone an administrator of the console."""
    if not settings.FEISHU_LINK_BY_VERIFIED_EMAIL or is_staff_address(identity):
        return None
    users = get_user_model().objects.filter(is_active=True)
    for email in identity.emails:
        matches = list(users.filter(email__iexact=email)[:2])
        if len(matches) == 1 and not matches[0].feishu_accounts.filter(app=app).exists():
            return matches[0]
    return None


def is_staff_address(identity: FeishuIdentity) -> bool:
    """Whether one of the identity's addresses is that of a console account that may not be
    signed in by e-mail (staff, superusers, active or not). Its owner signs in to link, and
    gets no new account either: it would be a second, unprivileged one in their name."""
    if not identity.emails:
        return False
    same_address = Q()
    for email in identity.emails:
        same_address |= Q(email__iexact=email)
    users = get_user_model().objects.filter(same_address).only("is_staff", "is_superuser")
    return any(not may_sign_in_by_email(user) for user in users)


def create_account(identity: FeishuIdentity) -> AbstractBaseUser:
    """A console account for a new person: no usable password, so Feishu is the only way in
    until an administrator sets one."""
    user_model = get_user_model()
    email = identity.emails[0] if identity.emails else ""
    user = user_model(
        username=unique_username(email.partition("@")[0] or identity.name or identity.open_id),
        email=email,
        first_name=identity.name[: user_model._meta.get_field("first_name").max_length],
    )
    user.set_unusable_password()
    user.save()
    return user


def unique_username(wish: str) -> str:
    """``wish`` reduced to the characters Django's username validator accepts, with a number
    added when it is taken: ``alice``, ``alice2``, ``alice3``…"""
    base = re.sub(r"[^\w.@+-]", "", wish.replace(" ", ".")).strip(".")[:140] or "feishu-user"
    taken = get_user_model().objects.filter(username__iexact=base).exists()
    candidate, number = base, 1
    while taken:
        number += 1
        candidate = f"{base}{number}"
        taken = get_user_model().objects.filter(username__iexact=candidate).exists()
    return candidate[:USERNAME_MAX_LENGTH]


# --- The identity waiting for a local sign-in ---------------------------------------------------


def keep_pending(
    request: HttpRequest, app: FeishuApp, identity: FeishuIdentity, next_url: str
) -> None:
    """Keep the Feishu identity in the session (never in a URL) while the person signs in."""
    _PENDING.keep(request, app, identity.as_dict(), next_url)


def take_pending(request: HttpRequest, app: FeishuApp) -> tuple[FeishuIdentity, str] | None:
    """The pending identity for ``app`` and its ``next``, removed from the session; None when
    there is none, it is another app's, or it is older than ``PENDING_TTL_SECONDS``."""
    pending = _PENDING.take(request, app, PENDING_TTL_SECONDS)
    if pending is None:
        return None
    return FeishuIdentity.from_user_info(pending[0]), pending[1]


def peek_pending(request: HttpRequest, app: FeishuApp) -> FeishuIdentity | None:
    """The pending identity for ``app``, left in the session."""
    pending = _PENDING.peek(request, app, PENDING_TTL_SECONDS)
    return None if pending is None else FeishuIdentity.from_user_info(pending)
