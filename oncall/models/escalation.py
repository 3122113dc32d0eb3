"""Escalation rules and their levels: who is notified about a channel's incidents, and when.

A channel's enabled rules are tried in ``position`` order and the first whose conditions hold
(severities, matchers, a weekly time window in a time zone) escalates the incident, level by
level. The engine (``oncall.escalation``) reads these rows; the chat platforms
(``oncall.platforms``) deliver what a level asks for, to people and to targets of their own
that point at the level. Every new channel gets a ``Default`` rule so that nothing goes
unnotified.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone as django_timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from oncall.events import Severity
from oncall.matchers import all_match, parse_matchers
from oncall.models.channels import Channel
from oncall.models.versions import (
    VersionedRule,
    VersionedRuleQuerySet,
    VersionOwner,
    new_versions,
)
from oncall.platforms import level_target_names
from oncall.weekly import WeeklyWindow

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Django's own abbreviations, translated in its catalogs: 0 = Monday as in ``days``.
DAY_NAMES = tuple(WEEKDAYS_ABBR[day] for day in range(7))
DEFAULT_RULE_NAME = "Default"
DEFAULT_ESCALATE_AFTER_MINUTES = 30


# --- Validators (shared by the admin, the API and ``full_clean``) ------------------------------


@lru_cache(maxsize=1)
def known_time_zones() -> tuple[str, ...]:
    """IANA time zone names, sorted (``available_timezones`` reads the disk on every call)."""
    return tuple(sorted(available_timezones()))


@lru_cache(maxsize=1)
def _time_zone_set() -> frozenset[str]:
    return frozenset(known_time_zones())


def default_time_zone() -> str:
    """The console's own time zone: a callable, so migrations don't freeze today's setting."""
    return settings.TIME_ZONE


def validate_time_zone(value: str) -> None:
    if value not in _time_zone_set():
        raise ValidationError(
            _("%(value)s is not a known time zone; use an IANA name such as Asia/Shanghai."),
            params={"value": value},
        )


def validate_severities(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_('Enter a list of severities, e.g. ["critical", "warning"].'))
    unknown = sorted(set(value) - set(Severity.values))
    if unknown:
        raise ValidationError(
            _("Unknown severities %(unknown)s: use %(known)s."),
            params={"unknown": ", ".join(unknown), "known": ", ".join(Severity.values)},
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("Each severity may appear once."))


def validate_days(value: Any) -> None:
    # bool is an int in Python; true / false in JSON are not days.
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 6 for v in value
    ):
        raise ValidationError(_("Enter a list of days as numbers, 0 = Monday ... 6 = Sunday."))
    if len(set(value)) != len(value):
        raise ValidationError(_("Each day may appear once."))


def validate_matchers(value: Any) -> None:
    parse_matchers(value)  # raises ValidationError with the reason


def _join_names(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``; ``nobody`` for none."""
    if not names:
        return gettext("nobody")
    if len(names) == 1:
        return names[0]
    return gettext("%(names)s and %(last)s") % {
        "names": gettext(", ").join(names[:-1]),
        "last": names[-1],
    }


# --- Rules --------------------------------------------------------------------------------------


class EscalationRule(VersionedRule):
    """Who is notified about a channel's incidents, and when: the first enabled rule of the
    channel (by ``position``) whose conditions hold escalates an incident along its levels.
    Every write renews the channel's ``escalation_version`` (``oncall.escalation_rules`` keeps
    the rules per version)."""

    class StopWhen(models.TextChoices):
        CLAIMED = "claimed", _("the incident is claimed")
        CLOSED = "closed", _("the incident is closed")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    channel = models.ForeignKey(
        "oncall.Channel",
        on_delete=models.CASCADE,
        related_name="escalation_rules",
        verbose_name=_("channel"),
    )
    position = models.PositiveIntegerField(
        default=0,
        help_text=_("Rules are tried in this order; the first that matches wins."),
        verbose_name=_("position"),
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    severities = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_severities],
        help_text=_('Only incidents of these severities, e.g. ["critical"]. Empty: any.'),
        verbose_name=_("severities"),
    )
    matchers = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_matchers],
        help_text=_(
            "All must hold for the incident's first alert, as in routes, e.g. "
            '[{"key": "labels.env", "op": "eq", "value": "prod"}]. Ops: eq, neq, re, nre, '
            "exists, absent. Keys: labels.<name>, title, description, severity, alert_key."
        ),
        verbose_name=_("matchers"),
    )
    days = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_days],
        help_text=_(
            "Days of the week, 0 = Monday ... 6 = Sunday, on which the time window starts. "
            "Empty: every day."
        ),
        verbose_name=_("days"),
    )
    start_time = models.TimeField(
        null=True,
        blank=True,
        help_text=_("Leave start and end empty for all day."),
        verbose_name=_("start time"),
    )
    end_time = models.TimeField(
        null=True,
        blank=True,
        help_text=_("Excluded. An end before the start crosses midnight, e.g. 22:00-06:00."),
        verbose_name=_("end time"),
    )
    timezone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("The time zone of the days and times, e.g. Asia/Shanghai."),
        verbose_name=_("timezone"),
    )
    stop_when = models.CharField(
        max_length=16,
        choices=StopWhen.choices,
        default=StopWhen.CLAIMED,
        help_text=_("Stop escalating to the next level when..."),
        verbose_name=_("stop when"),
    )
    repeat_rule_times = models.PositiveIntegerField(
        default=0,
        help_text=_("After the last level, run the rule again from its first level this often."),
        verbose_name=_("repeat rule times"),
    )
    notification_template = models.ForeignKey(
        "oncall.NotificationTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalation_rules",
        help_text=_("Overrides the channel's template for incidents this rule escalates."),
        verbose_name=_("notification template"),
    )

    objects = VersionedRuleQuerySet.as_manager()

    version_owners = (VersionOwner("channel_id", "oncall.Channel", "escalation_version"),)

    class Meta:
        ordering = ["channel", "position", "id"]
        verbose_name = _("escalation rule")
        verbose_name_plural = _("escalation rules")

    def __str__(self) -> str:
        return f"{self.channel}: {self.name}"

    def clean(self) -> None:
        if (self.start_time is None) != (self.end_time is None):
            missing = "start_time" if self.start_time is None else "end_time"
            raise ValidationError(
                {missing: _("Give both a start and an end time, or neither for all day.")}
            )
        if self.start_time is not None and self.start_time == self.end_time:
            raise ValidationError(
                {"end_time": _("The window ends when it starts; leave both empty for all day.")}
            )

    # --- Matching ---------------------------------------------------------------------------

    def matches(self, severity: str, subject: Mapping[str, str], at: datetime) -> bool:
        """Whether an incident of ``severity`` whose first alert reads ``subject`` (see
        ``oncall.matchers.subject_of``) falls under this rule at the aware moment ``at``.
        ``enabled`` is the caller's business (``oncall.escalation_rules.rule_for``)."""
        if self.severities and severity not in self.severities:
            return False
        if not all_match(parse_matchers(self.matchers), subject):
            return False
        return self.in_window(at)

    def in_window(self, at: datetime) -> bool:
        """Whether its weekly window (days, hours, time zone; none: always) holds ``at``. A
        window crossing midnight belongs to the day it starts: ``days`` name those days."""
        return self.weekly_window().contains(at)

    def weekly_window(self) -> WeeklyWindow:
        """Its days and hours (both times empty: all day), as weekly silences are read."""
        return WeeklyWindow.of(self.days, self.start_time, self.end_time, self.timezone)

    # --- Descriptions for people ------------------------------------------------------------

    def describe_conditions(self) -> str:
        """``critical · labels.env eq prod · Mon, Tue 22:00-06:00 Asia/Shanghai``."""
        parts = []
        if self.severities:
            parts.append(", ".join(self.severities))
        parts.extend(
            f"{m.key} {m.op}{f' {m.value}' if m.value else ''}"
            for m in _matchers_or_empty(self.matchers)
        )
        window = self.describe_window()
        if window:
            parts.append(window)
        return " · ".join(parts) or gettext("any incident, any time")

    def describe_window(self) -> str:
        days = ", ".join(str(DAY_NAMES[d]) for d in sorted(self.days)) if self.days else ""
        hours = ""
        if self.start_time is not None and self.end_time is not None:
            hours = f"{_hhmm(self.start_time)}-{_hhmm(self.end_time)}"
        if not days and not hours:
            return ""
        return " ".join(filter(None, [days, hours, self.timezone]))


def _matchers_or_empty(raw: Any) -> list:
    try:
        return parse_matchers(raw)
    except ValidationError:
        return []  # an unsaved, invalid form: its errors are shown next to the field


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


# --- Levels -------------------------------------------------------------------------------------


class EscalationLevel(VersionedRule):
    """One step of a rule: whom to notify when it starts, how often to remind them, and when
    to move on to the next level. Its writes renew its rule's channel's
    ``escalation_version``; its people (users, schedules, the channel's members) are read
    when it runs, so they need not."""

    rule = models.ForeignKey(
        EscalationRule, on_delete=models.CASCADE, related_name="levels", verbose_name=_("rule")
    )
    position = models.PositiveIntegerField(
        default=0, help_text=_("Levels run in this order."), verbose_name=_("position")
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="escalation_levels",
        help_text=_("Notified through each chat platform, e.g. their linked Feishu account."),
        verbose_name=_("users"),
    )
    schedules = models.ManyToManyField(
        "oncall.Schedule",
        blank=True,
        related_name="escalation_levels",
        help_text=_(
            "Notify whoever is on call in each schedule when the level runs (the override "
            "when there is one), or the next person when nobody is."
        ),
        verbose_name=_("schedules"),
    )
    notify_channel_members = models.BooleanField(
        default=False,
        help_text=_(
            "Also notify every member of the channel, direct or through its teams, as they "
            "are when the level runs."
        ),
        verbose_name=_("notify channel members"),
    )
    escalate_after_minutes = models.PositiveIntegerField(
        default=DEFAULT_ESCALATE_AFTER_MINUTES,
        validators=[MinValueValidator(1)],
        help_text=_("Move on to the next level after this many minutes unless stopped."),
        verbose_name=_("escalate after minutes"),
    )
    repeat_every_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Notify this level again every this many minutes. Empty: no repeat."),
        verbose_name=_("repeat every minutes"),
    )
    repeat_times = models.PositiveIntegerField(
        default=0,
        help_text=_("How many times to repeat, within the level's time."),
        verbose_name=_("repeat times"),
    )

    objects = VersionedRuleQuerySet.as_manager()

    version_owners = (
        VersionOwner(
            "rule_id", "oncall.Channel", "escalation_version", lookup="escalation_rules__in"
        ),
    )

    class Meta:
        ordering = ["rule", "position", "id"]
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")

    def __str__(self) -> str:
        return gettext("%(rule)s: level %(number)s") % {"rule": self.rule, "number": self.number}

    @property
    def number(self) -> int | None:
        """The level's number as people read it, from 1 ("Level 1" on the timeline): its place
        in the rule's order, whatever the positions (an ordering key, from 0, with gaps)."""
        if self.pk is None:
            return None
        before = Q(position__lt=self.position) | Q(position=self.position, pk__lt=self.pk)
        return EscalationLevel.objects.filter(before, rule_id=self.rule_id).count() + 1

    def clean(self) -> None:
        every, times = self.repeat_every_minutes, self.repeat_times or 0
        if times and not every:
            raise ValidationError(
                {"repeat_every_minutes": _("Say how often to repeat, in minutes.")}
            )
        if every and not times:
            raise ValidationError(
                {"repeat_times": _("Say how many times to repeat, or leave repeat every empty.")}
            )
        # The engine repeats only while the level's time lasts (``oncall.escalation``).
        if (
            every
            and times
            and self.escalate_after_minutes
            and (every * times >= self.escalate_after_minutes)
        ):
            raise ValidationError(
                {
                    "repeat_times": ngettext(
                        "Repeating %(times)s time every %(every)s min takes %(total)s min, "
                        "but the level escalates after %(after)s min: repeat less often or "
                        "escalate later.",
                        "Repeating %(times)s times every %(every)s min takes %(total)s min, "
                        "but the level escalates after %(after)s min: repeat less often or "
                        "escalate later.",
                        times,
                    )
                    % {
                        "times": times,
                        "every": every,
                        "total": every * times,
                        "after": self.escalate_after_minutes,
                    }
                }
            )

    @staticmethod
    def validate_targets(
        *,
        users: Iterable[Any],
        notify_channel_members: bool,
        platform_targets: bool,
        schedules: Iterable[Any] = (),
    ) -> None:
        """A level notifies someone: people, schedules' on-call, the channel's members, or a
        chat platform's targets (``platform_targets``: e.g. Feishu group chats). Many-to-many
        values are only known to forms and serializers, so they call this."""
        if (
            not list(users)
            and not list(schedules)
            and not notify_channel_members
            and not platform_targets
        ):
            raise ValidationError(
                _("Choose at least one target: users, schedules, the channel's members, or chats.")
            )

    def recipients(self, at: datetime | None = None) -> list[AbstractBaseUser]:
        """The active users this level notifies at ``at`` (now): see :meth:`reach`."""
        return self.reach(at).people

    def reach(self, at: datetime | None = None) -> Reach:
        """Whom this level reaches at ``at`` (now): its users, whoever is on call then in each
        of its schedules (or the next person when nobody is), and the channel's members
        (direct or through a team) when flagged; each once, active, by username. A person a
        schedule reached carries why (``oncall.schedules.targets.REACHED_AS``); a schedule with
        nobody at all is in ``unreachable``, in words."""
        from oncall.permissions import channel_member  # it imports the models
        from oncall.schedules.targets import on_call_for  # it imports the models

        user_model = get_user_model()
        chosen = Q(escalation_levels=self)
        if self.notify_channel_members:
            chosen |= channel_member(self.rule.channel_id)
        people = list(
            user_model.objects.filter(chosen, is_active=True)
            .distinct()
            .order_by(user_model.USERNAME_FIELD)
        )
        # ``may_have_schedules``: set on the levels ``oncall.escalation_rules`` keeps.
        asks = self.pk and getattr(self, "may_have_schedules", True)
        schedules = list(self.schedules.all()) if asks else []
        if not schedules:
            return Reach(people, [])
        on_call = on_call_for(schedules, at or django_timezone.now())
        return Reach(_by_username(on_call.merged_into(people)), on_call.unreachable)

    def describe(self, last: bool | None = None) -> str:
        """One line for people, e.g. ``Notify Alice, the on-call of SRE primary, channel members
        and SRE on-call; escalate after 30 min; repeat every 10 min`` and its count. The last level
        says what happens after it only when the rule starts again ("start again after 30
        min"); ``last`` says whether it is the last (None: this level finds out, without a
        query when its rule's levels were prefetched)."""
        from oncall.timeline import display_name  # oncall.timeline imports the models

        targets = [display_name(user) for user in self.users.all()] if self.pk else []
        if self.pk:
            targets.extend(
                gettext("the on-call of %(schedule)s") % {"schedule": schedule}
                for schedule in self.schedules.all()
            )
        if self.notify_channel_members:
            targets.append(gettext("channel members"))
        if self.pk:
            targets.extend(level_target_names(self))
        minutes = {"minutes": self.escalate_after_minutes}
        parts = [gettext("Notify %(targets)s") % {"targets": _join_names(targets)}]
        if self.repeat_every_minutes and self.repeat_times:
            parts.append(
                gettext("repeat every %(minutes)s min ×%(times)s")  # noqa: RUF001
                % {"minutes": self.repeat_every_minutes, "times": self.repeat_times}
            )
        if not (self.is_last() if last is None else last):
            parts.insert(1, gettext("escalate after %(minutes)s min") % minutes)
        elif self.rule.repeat_rule_times:
            parts.append(gettext("start again after %(minutes)s min") % minutes)
        return "; ".join(parts)

    def is_last(self) -> bool:
        """Whether no level of the rule comes after this one (nothing to escalate to)."""
        if self.pk is None:
            return False
        rule = self.rule if EscalationLevel.rule.is_cached(self) else None
        prefetched = getattr(rule, "_prefetched_objects_cache", {}).get("levels")
        if prefetched is not None:
            ordered = sorted(prefetched, key=lambda level: (level.position, level.pk))
            return ordered[-1].pk == self.pk
        after = Q(position__gt=self.position) | Q(position=self.position, pk__gt=self.pk)
        return not EscalationLevel.objects.filter(after, rule_id=self.rule_id).exists()


@dataclass(frozen=True)
class Reach:
    """Whom a level reaches when it runs (:meth:`EscalationLevel.reach`)."""

    people: list[Any]
    unreachable: list[str]  # schedules with nobody on call, in words


def _by_username(people: Iterable[Any]) -> list[Any]:
    field = get_user_model().USERNAME_FIELD
    return sorted(people, key=lambda user: getattr(user, field))


# --- The default rule ---------------------------------------------------------------------------


def create_default_rule(
    channel: Any, *, rule_model: Any = EscalationRule, level_model: Any = EscalationLevel
) -> Any:
    """Rule ``Default`` (any incident, any time): notify the channel's members, escalating
    after 30 minutes. Takes the model classes so that the data migration can pass its own."""
    rule = rule_model.objects.create(channel=channel, position=0, name=DEFAULT_RULE_NAME)
    level_model.objects.create(
        rule=rule,
        position=0,
        notify_channel_members=True,
        escalate_after_minutes=DEFAULT_ESCALATE_AFTER_MINUTES,
    )
    return rule


def add_missing_default_rules(
    *,
    channel_model: Any = Channel,
    rule_model: Any = EscalationRule,
    level_model: Any = EscalationLevel,
) -> int:
    """Give every channel without any rule the default one (migration ``0003_escalation``);
    returns how many channels got one."""
    channels = list(channel_model.objects.filter(escalation_rules__isnull=True))
    for channel in channels:
        create_default_rule(channel, rule_model=rule_model, level_model=level_model)
    return len(channels)


@receiver(post_save, sender=Channel, dispatch_uid="oncall.default_escalation_rule")
def give_new_channel_its_default_rule(
    sender: type[Channel], instance: Channel, created: bool, raw: bool, **_: Any
) -> None:
    # ``raw``: loaddata restores a channel together with its own rules.
    if created and not raw:
        create_default_rule(instance)


@receiver(pre_delete, sender="oncall.NotificationTemplate", dispatch_uid="oncall.template_versions")
def renew_versions_of_rules_using_template(sender: Any, instance: Any, **_: Any) -> None:
    # Deleting a template sets its rules' field to null without their save: their channels
    # must still renew the version under which the rules are kept.
    channels = EscalationRule.objects.filter(notification_template=instance)
    new_versions(EscalationRule.version_owners[0], channels.values_list("channel_id", flat=True))


@receiver(
    m2m_changed, sender=EscalationLevel.schedules.through, dispatch_uid="oncall.level_schedules"
)
def renew_versions_of_levels_given_schedules(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **_: Any
) -> None:
    # The kept levels know whether they have schedules (``oncall.escalation_rules``): one
    # that had none and is given one must be read again.
    if action != "post_add":
        return
    if reverse:  # schedule.escalation_levels.add(level, ...)
        rules = EscalationLevel.objects.filter(pk__in=pk_set).values_list("rule_id", flat=True)
    else:
        rules = [instance.rule_id]
    new_versions(EscalationLevel.version_owners[0], rules)
