"""Who may see and act on which incidents: the one place that decides it.

Superusers act everywhere; everyone else acts on the incidents of channels they are a member of,
directly or through one of the channel's teams (Django groups).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from oncall.models import Channel, Incident


def visible_channels(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    if not user.is_authenticated or not user.is_active:
        return Channel.objects.none()
    if user.is_superuser:
        return Channel.objects.all()
    return Channel.objects.filter(Q(members=user) | Q(teams__user=user)).distinct()


def visible_incidents(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Incident]:
    if getattr(user, "is_superuser", False) and user.is_active:
        return Incident.objects.all()
    return Incident.objects.filter(channel__in=visible_channels(user).values("pk"))


def can_act_on_channel(user: AbstractBaseUser | AnonymousUser, channel_id: int) -> bool:
    return visible_channels(user).filter(pk=channel_id).exists()
