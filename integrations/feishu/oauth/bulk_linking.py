"""One-click linking for admins: link console users to a Feishu app by looking them up in the
tenant's directory, instead of waiting for each person to open the app once.

Feishu's ``batch_get_id`` finds people by email or mobile number
(https://open.feishu.cn/document/server-docs/contact-v3/user/batch_get_id). Console accounts are
Django's users, which have an email and no mobile number, so the lookup is by email only.
A person Feishu does not return is either unknown to the tenant or outside the app's contact
range (Feishu answers both the same way), and is reported as not found. Staff and superusers
are never linked by e-mail (``oncall.permissions.may_sign_in_by_email``): they are reported, and
link from a session they signed in to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from integrations.feishu.cards import supersede
from integrations.feishu.client import errors
from integrations.feishu.models import FeishuApp, LinkedAccount
from oncall.permissions import may_sign_in_by_email


@dataclass(frozen=True)
class TakenOpenId:
    """A person Feishu found whose open_id is already linked to another console user."""

    user: AbstractBaseUser
    linked_to: AbstractBaseUser


@dataclass
class BulkLinkResult:
    """What ``link_by_email`` did for one app; every console user it considered is in exactly
    one list."""

    app: FeishuApp
    linked: list[AbstractBaseUser] = field(default_factory=list)
    not_found: list[AbstractBaseUser] = field(default_factory=list)
    without_email: list[AbstractBaseUser] = field(default_factory=list)
    # Two or more console users with one email: Feishu's answer cannot say which one it is.
    shared_email: list[AbstractBaseUser] = field(default_factory=list)
    taken: list[TakenOpenId] = field(default_factory=list)
    # Staff and superusers: not looked up, they link themselves from a signed-in session.
    staff: list[AbstractBaseUser] = field(default_factory=list)

    @property
    def considered(self) -> int:
        return (
            len(self.staff)
            + len(self.linked)
            + len(self.not_found)
            + len(self.without_email)
            + len(self.shared_email)
            + len(self.taken)
        )


def unlinked_users(app: FeishuApp) -> list[AbstractBaseUser]:
    """Active console users without a link to ``app``, in a stable order."""
    linked = LinkedAccount.objects.filter(app=app).values("user_id")
    users = get_user_model().objects.filter(is_active=True).exclude(pk__in=linked)
    return list(users.order_by("username", "pk"))


def link_by_email(app: FeishuApp) -> BulkLinkResult:
    """Link every active, unlinked console user whose email Feishu knows in ``app``'s tenant.

    Raises ``errors.FeishuError`` when the lookup fails; nothing is linked then
    (``describe_error`` says what went wrong in words an admin can act on)."""
    result = BulkLinkResult(app=app)
    users = unlinked_users(app)
    result.staff = [user for user in users if not may_sign_in_by_email(user)]
    by_email = _group_by_email([u for u in users if may_sign_in_by_email(u)], result)
    open_ids = _open_ids_by_email(app, by_email.keys())
    for email, users in by_email.items():
        open_id = open_ids.get(email)
        if open_id is None:
            result.not_found.extend(users)
        elif len(users) > 1:
            result.shared_email.extend(users)
        else:
            _link(app, users[0], open_id, email, result)
    return result


def _group_by_email(
    users: Iterable[AbstractBaseUser], result: BulkLinkResult
) -> dict[str, list[AbstractBaseUser]]:
    """Users by lower-cased email; those without one go to ``result.without_email``."""
    by_email: dict[str, list[AbstractBaseUser]] = defaultdict(list)
    for user in users:
        email = (user.email or "").strip().lower()
        if email:
            by_email[email].append(user)
        else:
            result.without_email.append(user)
    return dict(by_email)


def _open_ids_by_email(app: FeishuApp, emails: Iterable[str]) -> dict[str, str]:
    """Lower-cased email → open_id, for the emails Feishu knows (entries without ``user_id``
    are people it does not know or the app may not see)."""
    emails = list(emails)
    if not emails:
        return {}
    client = app.client()
    try:
        entries = client.batch_get_ids(emails=emails)
    finally:
        client.session.close()
    return {
        str(entry["email"]).lower(): str(entry["user_id"])
        for entry in entries
        if entry.get("email") and entry.get("user_id")
    }


def _link(
    app: FeishuApp, user: AbstractBaseUser, open_id: str, email: str, result: BulkLinkResult
) -> None:
    holder = LinkedAccount.objects.filter(app=app, open_id=open_id).select_related("user").first()
    if holder is not None:
        result.taken.append(TakenOpenId(user=user, linked_to=holder.user))
        return
    try:
        # The person may open the app and link themselves while this runs: the unique
        # constraints decide, and the loser is reported rather than failing the whole batch.
        with transaction.atomic():
            LinkedAccount.objects.create(user=user, app=app, open_id=open_id, email=email)
            supersede.after_linking(user, app)  # the cards they were refused, once each
    except IntegrityError:
        holder = LinkedAccount.objects.filter(app=app, open_id=open_id).select_related("user")
        found = holder.first()
        if found is None or found.user_id == user.pk:
            # They linked themselves (perhaps to this very open_id) a moment ago: nothing to do.
            return
        result.taken.append(TakenOpenId(user=user, linked_to=found.user))
        return
    result.linked.append(user)


def describe_error(exc: errors.FeishuError) -> str:
    """A failed lookup in words an admin can act on."""
    return errors.explain(
        exc,
        doing=gettext("looking people up"),
        scopes="contact:user.id:readonly",
        nothing_done=gettext("Nothing was linked."),
    )
