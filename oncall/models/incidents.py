from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oncall.events import Severity
from oncall.platforms import platform_named
from oncall.timeline_messages import render_entry


class ActionSource(models.TextChoices):
    """Where an action on an incident came from, for the core's own surfaces; recorded on
    every timeline entry. A chat platform records its own name instead (``"feishu"``), so the
    core needs no member per platform."""

    WEB = "web", _("web")
    API = "api", _("API")
    INTEGRATION = "integration", _("alert source")
    SYSTEM = "system", _("system")


class DatabaseNumberField(models.PositiveBigIntegerField):
    """A number the database may fill in within the INSERT itself (an expression such as a
    sequence's ``nextval``, see ``oncall.merge.new_incident_number``), read back by the insert's
    ``RETURNING`` as the primary key is, so that numbering a new row costs no round trip of its
    own. (``db_returning`` is how Django's own auto fields ask for that.)"""

    db_returning = True


# The group key of an incident opened by hand: its own, so that no alert ever joins it.
MANUAL_GROUP_PREFIX = "manual:"


class Incident(models.Model):
    """What people handle: one or more alerts of a channel, escalated until someone claims it."""

    class Status(models.TextChoices):
        TRIGGERED = "triggered", _("triggered")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        CLOSED = "closed", _("closed")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    number = DatabaseNumberField(unique=True, editable=False, verbose_name=_("number"))
    channel = models.ForeignKey(
        "oncall.Channel",
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("channel"),
    )
    title = models.CharField(max_length=512, verbose_name=_("title"))
    severity = models.CharField(max_length=16, choices=Severity.choices, verbose_name=_("severity"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.TRIGGERED, verbose_name=_("status")
    )
    group_key = models.CharField(max_length=128, editable=False, verbose_name=_("group key"))
    snoozed_until = models.DateTimeField(null=True, blank=True, verbose_name=_("snoozed until"))
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("claimed by"),
    )
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    # When it was first claimed or acknowledged (kept through unclaims and reopens, which
    # clear ``claimed_at``): insights' time to acknowledge, without reading the timeline.
    first_claimed_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("first claimed at")
    )
    # Who acknowledged it when no person did (an alert source, e.g. PagerDuty's acknowledge):
    # kept on the row so that every list and card can name it without reading the timeline.
    acknowledged_by_source = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("acknowledged by source")
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    # Set when a responder merged this incident's alerts into another one (``lifecycle.merge``):
    # it is closed, holds no alerts, and every surface says "merged into #N" and links there.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_incidents",
        editable=False,
        verbose_name=_("merged into"),
    )
    # Who opened it by hand (``lifecycle.open_incident``); empty when an alert source did.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    # Whom it was handed to (``lifecycle.assign``): that person alone is expected to act.
    # Empty when the escalation rule decides who is notified (also after assigning a level).
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    assigned_at = models.DateTimeField(null=True, blank=True, verbose_name=_("assigned at"))
    alert_count = models.PositiveIntegerField(default=0, verbose_name=_("alert count"))
    last_alert_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last alert at"))
    # Noise reduction (``oncall.noise``). Flapping: one of its alert keys keeps triggering and
    # recovering (since when); ``flapping_quiet``: so its notifications stopped after the first.
    flapping_since = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("flapping since")
    )
    flapping_quiet = models.BooleanField(
        default=False, editable=False, verbose_name=_("flapping quiet")
    )
    # The highest alert storm threshold of its channel its alert count reached (0: none).
    storm_alerts = models.PositiveIntegerField(
        default=0, editable=False, verbose_name=_("storm alerts")
    )
    # The maintenance window of its channel or source it opened in (``oncall.noise.maintenance``):
    # marked on every surface (``in_maintenance``); nothing notifies until the window ends.
    maintenance_window = models.ForeignKey(
        "oncall.MaintenanceWindow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
        editable=False,
        verbose_name=_("maintenance window"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    # The escalation engine's state (``oncall.escalation``), kept here so that no lost task
    # loses a step: the rule chosen, where in it the incident is, and when the next step is due.
    escalation_rule = models.ForeignKey(
        "oncall.EscalationRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("escalation rule"),
    )
    escalation_level = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Index into the rule's levels, by position."),
        verbose_name=_("escalation level"),
    )
    escalation_repeats = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Notifications already sent at this level beyond the first."),
        verbose_name=_("escalation repeats"),
    )
    escalation_loops = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("Times the rule was started again after its last level."),
        verbose_name=_("escalation loops"),
    )
    next_escalation_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text=_("When the next escalation step is due; empty: nothing planned."),
        verbose_name=_("next escalation at"),
    )
    escalation_finished_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the rule's last level (and round) ran out; empty while escalating or paused."
        ),
        verbose_name=_("escalation finished at"),
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["channel", "group_key", "status"], name="incident_grouping"),
            models.Index(fields=["status", "-created_at"], name="incident_status_created"),
            # Insights: a channel's incidents opened within a period.
            models.Index(fields=["channel", "created_at"], name="incident_channel_created"),
            models.Index(
                fields=["snoozed_until"],
                name="incident_snoozed",
                condition=models.Q(snoozed_until__isnull=False),
            ),
        ]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def is_manual(self) -> bool:
        """Opened by a person rather than by an alert source: the group key says so for as
        long as the incident exists, even once its creator's account is deleted."""
        return self.group_key.startswith(MANUAL_GROUP_PREFIX)

    @property
    def is_flapping(self) -> bool:
        return self.flapping_since is not None

    @property
    def is_storm(self) -> bool:
        return self.storm_alerts > 0

    @property
    def in_maintenance(self) -> bool:
        """Opened during a maintenance window: read from the window's key on the row (no
        query), not stored twice. A deleted window takes the mark with it (its timeline entry
        stays): nobody can name or open a window that no longer exists."""
        return self.maintenance_window_id is not None

    @property
    def is_snoozed(self) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > timezone.now()


class Alert(models.Model):
    """One monitored problem, merged from every event with its ``alert_key``.

    A *suppressed* alert (silenced, inhibited, or dropped by a pipeline and kept to be seen)
    opens no incident and notifies nobody: ``incident`` is empty, ``suppressed`` says why and
    ``suppressed_detail`` what decided it (the rule, the inhibiting incident), so that the alert
    list can show and filter it."""

    class Status(models.TextChoices):
        FIRING = "firing", _("firing")
        RESOLVED = "resolved", _("resolved")

    class Suppression(models.TextChoices):
        SILENCED = "silenced", _("silenced")
        INHIBITED = "inhibited", _("inhibited")
        PIPELINE_DROPPED = "pipeline_dropped", _("dropped by pipeline")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    channel = models.ForeignKey(
        "oncall.Channel", on_delete=models.CASCADE, related_name="alerts", verbose_name=_("channel")
    )
    source = models.ForeignKey(
        "oncall.AlertSource",
        null=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        verbose_name=_("source"),
    )
    # Empty only while the alert is suppressed (``suppressed``): it opened no incident.
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        verbose_name=_("incident"),
    )
    alert_key = models.CharField(max_length=255, verbose_name=_("alert key"))
    title = models.CharField(max_length=512, verbose_name=_("title"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    severity = models.CharField(max_length=16, choices=Severity.choices, verbose_name=_("severity"))
    raw_severity = models.CharField(max_length=64, blank=True, verbose_name=_("raw severity"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.FIRING, verbose_name=_("status")
    )
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    links = models.JSONField(default=list, blank=True, verbose_name=_("links"))
    images = models.JSONField(default=list, blank=True, verbose_name=_("images"))
    first_seen = models.DateTimeField(verbose_name=_("first seen"))
    last_seen = models.DateTimeField(verbose_name=_("last seen"))
    # When the source says the problem started (Alertmanager's startsAt, a sender's own
    # timestamp), never later than ``first_seen``, when the console first heard of it (the
    # merge clamps it as it stores it). None: the source gave no time. ``started`` gives the
    # one to show.
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    event_count = models.PositiveIntegerField(default=1, verbose_name=_("event count"))
    # The pipeline rules of its source that changed its latest event (``oncall.noise.pipelines``):
    # [{"rule": <public id>, "name": ..., "action": ...}], in the order they ran.
    pipeline = models.JSONField(
        default=list, blank=True, editable=False, verbose_name=_("pipeline")
    )
    # Null, not "": the shape agreed with the silences and pipelines (``suppressed__isnull``).
    suppressed = models.CharField(  # noqa: DJ001
        max_length=16,
        choices=Suppression.choices,
        null=True,
        blank=True,
        default=None,
        help_text=_("Why it opened no incident; empty: it was not suppressed."),
        verbose_name=_("suppressed"),
    )
    # What suppressed it, for people and links: {"rule": ..., "incident": <public id>, ...}.
    suppressed_detail = models.JSONField(
        default=dict, blank=True, verbose_name=_("suppressed detail")
    )

    class Meta:
        ordering = ["-last_seen"]
        indexes = [
            # alert_key first: a batch looks up many keys of one source at once, and with the
            # key leading, no stale planner estimate can turn the key into a mere filter.
            models.Index(fields=["alert_key", "source", "channel"], name="alert_identity"),
            models.Index(fields=["incident", "status"], name="alert_incident_status"),
            models.Index(
                fields=["channel", "suppressed"],
                name="alert_suppressed",
                condition=models.Q(suppressed__isnull=False),
            ),
        ]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")

    def __str__(self) -> str:
        return self.title

    @property
    def started(self) -> datetime:
        """When the alert started: the source's own time when it gave one, else when the
        console first heard of it."""
        return self.started_at or self.first_seen


class TimelineEntry(models.Model):
    """Every event of an incident, in order: the incident's history as people read it."""

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        ALERT_ADDED = "alert_added", _("alert added")
        ALERT_REFIRED = "alert_refired", _("alert firing again")
        ALERT_RESOLVED = "alert_resolved", _("alert recovered")
        CLAIMED = "claimed", _("claimed")
        UNCLAIMED = "unclaimed", _("unclaimed")
        CLOSED = "closed", _("closed")
        REOPENED = "reopened", _("reopened")
        SNOOZED = "snoozed", _("snoozed")
        WOKEN = "woken", _("woken")
        NOTIFIED = "notified", _("notified")
        DELIVERY_FAILED = "delivery_failed", _("delivery failed")
        ESCALATION = "escalation", _("escalation")
        MERGED = "merged", _("incidents merged in")
        MERGED_INTO = "merged_into", _("merged into another incident")
        SPLIT = "split", _("alert split out")
        ASSIGNED = "assigned", _("assigned")
        # A responder's note: the entry points at its ``IncidentNote``, which holds the text.
        NOTE = "note", _("note")
        # A custom notification template failed; the built-in one was sent instead.
        TEMPLATE_FAILED = "template_failed", _("notification template failed")
        # A chat platform opened a group chat for the incident (or could not), and whom it
        # invited (``oncall.offers``' "war_room" action, or an escalation rule's option).
        WAR_ROOM = "war_room", _("war room")
        # A custom action was called (``oncall.custom_actions``): by whom, and its answer.
        ACTION_CALLED = "action_called", _("custom action called")
        # Noise reduction: the alert count reached a storm threshold; an alert key flaps.
        ALERT_STORM = "alert_storm", _("alert storm")
        FLAPPING = "flapping", _("flapping")
        # Noise reduction (``oncall.noise``): a quick silence made from the incident; the
        # incident opened in a maintenance window.
        SILENCED = "silenced", _("silenced")
        MAINTENANCE = "maintenance", _("maintenance")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="timeline", verbose_name=_("incident")
    )
    kind = models.CharField(max_length=32, choices=Kind.choices, verbose_name=_("kind"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    # An ``ActionSource`` value, or the name of the chat platform the action came through.
    source = models.CharField(max_length=32, verbose_name=_("source"))
    # The entry in English, always written: exports, search and outgoing webhooks read it, and
    # an entry without a ``message_kind`` (written before they existed) shows it as it is.
    message = models.TextField(verbose_name=_("message"))
    # What the entry says, put into words when read (``oncall.timeline_messages``): a key of
    # its registry and the values of the sentence's placeholders.
    message_kind = models.CharField(max_length=64, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    # Kind NOTE only. The note is its own row (it is edited and deleted; entries are history
    # and never change); deleting the note deletes its entry with it.
    note = models.OneToOneField(
        "oncall.IncidentNote",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="timeline_entry",
        verbose_name=_("note"),
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = _("timeline entries")
        indexes = [models.Index(fields=["incident", "created_at"], name="timeline_incident_time")]
        verbose_name = _("timeline entry")

    def __str__(self) -> str:
        return self.text  # the admin names a row by it: in the reader's language too

    @property
    def text(self) -> str:
        """What the entry says in the active language (the reader's)."""
        return render_entry(self.message_kind, self.params, self.message)

    @property
    def source_label(self) -> str:
        """Where the entry came from, for people: "web", "API", or the platform's label."""
        return source_label(self.source)


def source_label(source: str) -> str:
    """An action's source for people: "web", "API", or the chat platform's label."""
    if source in ActionSource.values:
        return str(ActionSource(source).label)
    platform = platform_named(source)
    return str(platform.label) if platform is not None else source


class Counter(models.Model):
    """A named, transactionally incremented number (incident numbers: #1, #2, ...)."""

    name = models.CharField(max_length=32, primary_key=True, verbose_name=_("name"))
    value = models.PositiveBigIntegerField(default=0, verbose_name=_("value"))

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
