"""Which console account a DingTalk identity belongs to, and keeping ``DingTalkAccount`` rows.

One link per (user, app) and per (app, unionId): linking a user who already has a link for the
app replaces it ("switch account"). Who a first-time visitor is cannot be guessed from DingTalk
alone: the console's users have no DingTalk identity until they link, so a person with no link
signs in to the console once (``keep_pending`` holds the identity meanwhile) and is linked.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest

from integrations.chatkit.oauth import PendingIdentity
from integrations.dingtalk.models import DingTalkAccount, DingTalkApp
from integrations.dingtalk.oauth.provider import DingTalkIdentity

PENDING_SESSION_KEY = "dingtalk_pending_link"
_PENDING = PendingIdentity(PENDING_SESSION_KEY)
# As long as an OAuth state lives: the person signs in locally right after the round trip.
PENDING_TTL_SECONDS = 600


def linked_account(app: DingTalkApp, union_id: str) -> DingTalkAccount | None:
    """Whose account ``union_id`` is in ``app``. A blank unionId is nobody's: accounts an admin
    entered by userid have a blank one until their person signs in."""
    if not union_id:
        return None
    return DingTalkAccount.objects.select_related("user").filter(app=app, union_id=union_id).first()


def account_of(user: AbstractBaseUser, app: DingTalkApp) -> DingTalkAccount | None:
    """``user``'s link to ``app``: whom that app's cards to this person are addressed to."""
    return DingTalkAccount.objects.filter(user=user, app=app).first()


def refresh(link: DingTalkAccount, identity: DingTalkIdentity) -> DingTalkAccount:
    """Keep the stored profile as DingTalk last described it (a userid found once is kept
    when a later look-up could not repeat it)."""
    link.dingtalk_user_id = identity.user_id or link.dingtalk_user_id
    link.name = identity.name
    link.email = identity.email
    link.avatar_url = identity.avatar_url
    link.save()
    return link


@transaction.atomic
def link(user: AbstractBaseUser, app: DingTalkApp, identity: DingTalkIdentity) -> DingTalkAccount:
    """Link ``user`` to ``identity`` in ``app``, replacing the user's earlier link for the app.
    The caller has checked that the unionId is not linked to somebody else; a concurrent link
    of it raises ``IntegrityError`` (the (app, union_id) constraint)."""
    account = DingTalkAccount.objects.select_for_update().filter(user=user, app=app).first()
    if account is None:
        account = DingTalkAccount(user=user, app=app)
    account.union_id = identity.union_id
    return refresh(account, identity)


# --- The identity waiting for a local sign-in ---------------------------------------------------


def keep_pending(
    request: HttpRequest, app: DingTalkApp, identity: DingTalkIdentity, next_url: str
) -> None:
    """Keep the DingTalk identity in the session (never in a URL) while the person signs in."""
    _PENDING.keep(request, app, identity.as_dict(), next_url)


def take_pending(request: HttpRequest, app: DingTalkApp) -> tuple[DingTalkIdentity, str] | None:
    """The pending identity for ``app`` and its ``next``, removed from the session; None when
    there is none, it is another app's, or it is older than ``PENDING_TTL_SECONDS``."""
    pending = _PENDING.take(request, app, PENDING_TTL_SECONDS)
    if pending is None:
        return None
    return DingTalkIdentity.from_dict(pending[0]), pending[1]
