"""Merging a batch of alert events into alerts and incidents (the worker side of ingestion).

Concurrency. Several workers merge batches at once. On PostgreSQL a batch takes transaction-level
advisory locks before it reads anything it will change: first one per alert identity (channel,
source, alert_key), then one per grouping key it may touch, each set in sorted order. Every
batch takes its locks in that one global order, so batches that share an alert or a group wait
for each other and can never deadlock, while batches for different alerts run in parallel.
SQLite has a single writer (``IMMEDIATE`` transactions), which serialises batches by itself.

Merged and split incidents. ``lifecycle.merge`` and ``lifecycle.split`` move alert rows between
incidents under these same locks (the moved alerts', then the incidents' groups), so a batch
sees an alert before its move or after it, and after it merges the alert's events into the
incident it moved to. A merged incident is closed: no batch joins a new alert to it (only open
incidents of a group are joined), so a new alert of its group opens an incident of its own, as
after any close.

Escalation. Every incident a batch opens has its level 1 planned, due now, in the batch's
transaction: its rule is chosen from the channel's rules as kept for their version
(``oncall.escalation_rules``: no query while they stay as they are) and written with the
incident's own insert; at the end of the batch it is chosen again (its severity may have
changed) and written again only if it differs. After the commit the steps go to tasks on the
cards queue (``escalation.hand_out_starts``), which notify the level: the merge's worker does
not wait for notifications. A lost task leaves a due step the escalation sweep hands out.

Chunks. A big push is merged in chunks, one batch each (``oncall.ingest``). An incident a chunk
opens waits for its plan while a later chunk of the push may still change it (``later``: an
event of its group or of one of its alerts), so that its rule sees the severity and alerts a
one-shot merge would have given it; the chunk that last touches it plans it.

Order. Pushes are merged in the order workers take them, which may not be the order they were
received in: an event received before one already merged into its alert changes nothing, and a
firing that a resolve received after it ended already opens nothing (``oncall.early_resolves``).
What a push's events left alone is said in its notes (``outdated``).

Speed. The batch's current alerts are read in one query; changed alerts and timeline entries
are written in one query each when the batch ends (alerts also before a query that must see
them), and an incident only when its severity or alert count changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from oncall import early_resolves, escalation, escalation_rules, lifecycle
from oncall.events import AlertEvent, EventKind, Severity
from oncall.models import ActionSource, Alert, AlertSource, Channel, Counter, Incident
from oncall.models import TimelineEntry as Entry
from oncall.models import WebhookEventType as Hook
from oncall.noise import flapping, inhibition, storms
from oncall.noise.grouping import group_key
from oncall.noise.maintenance import MaintenanceBook
from oncall.noise.maintenance import opened_message as maintenance_opened
from oncall.noise.pipelines import pipeline_verdict
from oncall.noise.silences import SilenceBook, Verdict, hold, unhold
from oncall.rows import update_rows
from oncall.timeline import Actor, build, record_many
from oncall.timeline_messages import Phrase, phrase
from oncall.webhooks import outbox

Kind = Entry.Kind
OPEN = (Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED)
PREFETCH_CHUNK = 500
ALERT_EVENT_FIELDS = [
    "title",
    "description",
    "severity",
    "raw_severity",
    "labels",
    "links",
    "images",
    "status",
    "resolved_at",
    "started_at",
    "last_seen",
    "event_count",
    "pipeline",
]


@dataclass
class IncidentTouch:
    """What a batch changes on an incident: a more urgent severity, new alerts."""

    severity: str
    new_alerts: int = 0


@dataclass
class Merger:
    """Merges the events of one push (one source, received at one moment), or of one chunk
    of it: ``later`` names what the push's later chunks touch (``touched_names``), and
    ``waiting`` holds the incidents earlier chunks opened and left unplanned; after ``run``,
    ``waiting`` holds those still left for a later chunk."""

    source: AlertSource
    at: datetime
    pairs: list[tuple[Channel, AlertEvent]]
    later: frozenset[str] = frozenset()
    waiting: list[int] = field(default_factory=list)
    actor: Actor = field(init=False)
    alerts: dict[tuple[int, str], Alert] = field(default_factory=dict)
    incidents: dict[int, Incident] = field(default_factory=dict)
    opened: list[Incident] = field(default_factory=list)
    touched: dict[int, IncidentTouch] = field(default_factory=dict)
    # Alerts to write at the end of the batch (or before anything reads them from the
    # database): changed ones by ``id()`` (an UPDATE each, one round trip for all), and new
    # ones placed in an incident, inserted together (one INSERT for all, ``_write_alerts``).
    dirty: dict[int, Alert] = field(default_factory=dict)
    new_alerts: list[Alert] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    # Webhook events, in the order they happened (``oncall.webhooks.outbox``); an alert's
    # is made once the alert is written (a new one has no id before).
    happened: list[outbox.Happening | AlertHappening] = field(default_factory=list)
    # Noise reduction (``oncall.noise``): the batch's inhibition rules, its flapping triggers.
    inhibitor: inhibition.Inhibitor = field(init=False)
    flaps: flapping.FlapWatch = field(init=False)
    # Noise reduction (``oncall.noise``): the batch's silences and maintenance windows, read
    # the first time the batch opens an alert or an incident.
    silences: SilenceBook | None = None
    maintenance: MaintenanceBook | None = None
    # Escalation: the first alert of each incident the batch opened (what its rule's matchers
    # read), and those whose level 1 was planned with their insert.
    first_alerts: dict[int, Alert] = field(default_factory=dict)
    planned: set[int] = field(default_factory=set)
    # Order (``oncall.early_resolves``): the identities the batch's resolves found no alert
    # of; those a resolve received after the push ended, read the first time the batch would
    # open an alert; the keys of the events that changed nothing for arriving late.
    resolved_early: set[tuple[int, str]] = field(default_factory=set)
    ended_later: set[tuple[int, str]] | None = None
    outdated: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.actor = Actor(None, ActionSource.INTEGRATION, {"name": self.source.name})
        self.flaps = flapping.FlapWatch(self.at)

    def run(self) -> None:
        self._lock_and_read()
        for channel, event in self.pairs:
            self.apply(channel, event)
        self._finish()

    def _lock_and_read(self) -> None:
        advisory_lock(alert_lock(c.pk, self.source.pk, e.alert_key) for c, e in self.pairs)
        self._prefetch_alerts()
        advisory_lock(
            [group_lock(c.pk, group_key(c, self.source, e)) for c, e in self.pairs]
            + [
                group_lock(a.channel_id, a.incident.group_key)
                for a in self.alerts.values()
                if a.incident is not None  # a suppressed alert has no incident (no group)
            ]
            # the waiting incidents are planned under their row locks, taken at the end:
            # holding their group locks first keeps every other batch off those rows
            + [group_lock(c, k) for c, k in group_names(self.waiting)]
        )
        self._reload_incidents()
        self.inhibitor = inhibition.Inhibitor(self.source, self.at, self._channels())
        self.inhibitor.prepare(self.pairs)

    def _channels(self) -> list[Channel]:
        """The batch's channels, each once."""
        return list({channel.pk: channel for channel, _ in self.pairs}.values())

    def run_reconsider(self) -> None:
        """Like ``run``, for alerts a silence kept (``pairs`` made by ``reconsider``): each
        one still firing and silenced opens its incident now unless a silence still holds it.
        No event is counted."""
        self._lock_and_read()
        for channel, event in self.pairs:
            alert = self.alerts.get((channel.pk, event.alert_key))
            if alert is not None and alert.incident is None:
                self._recheck_suppressed(channel, alert, event)
        self._finish()

    def _finish(self) -> None:
        self._write_alerts()
        self._remember_early_resolves()
        self._mark_flapping()
        self._write_touches()
        self._plan_escalations()
        self._write_webhook_events()
        record_many(self.entries, webhook_events=False)

    def apply(self, channel: Channel, event: AlertEvent) -> None:
        alert = self.alerts.get((channel.pk, event.alert_key))
        incident_open = alert is not None and alert.incident is not None and alert.incident.is_open
        match event.kind:
            case EventKind.FIRING | EventKind.RESOLVED if alert and alert.last_seen > self.at:
                # A later push's event changed it already: this one is counted, nothing more.
                self._count_event(alert)
                self.outdated.append(event.alert_key)
            case EventKind.FIRING if incident_open and event.dropped:
                pass  # its source's pipeline dropped it: the incident does not hear of it
            case EventKind.FIRING if incident_open:
                self._merge_firing(channel, alert, event)
            case EventKind.FIRING if alert is not None and alert.incident is None:
                self._merge_suppressed(channel, alert, event)
            case EventKind.FIRING if alert is None and self._ended_later(channel, event):
                self.outdated.append(event.alert_key)
            case EventKind.FIRING:
                self._open_alert(channel, event)
            case EventKind.RESOLVED if alert and alert.status == Alert.Status.FIRING:
                self._resolve(channel, alert, event)
            case EventKind.RESOLVED if alert is None:
                self.resolved_early.add((channel.pk, event.alert_key))
            case EventKind.ACKNOWLEDGED if incident_open:
                self._acknowledge(alert)

    # --- reading ------------------------------------------------------------------------------

    def _prefetch_alerts(self) -> None:
        """The alert each event may change: per identity, the newest one that is firing or
        belongs to an open incident, or that a push received after this one changed (which
        this push's events leave alone); other closed history is never needed, so never
        read."""
        keys = sorted({e.alert_key for _, e in self.pairs})
        channel_ids = {c.pk for c, _ in self.pairs}
        for start in range(0, len(keys), PREFETCH_CHUNK):
            rows = (
                Alert.objects.filter(
                    channel_id__in=channel_ids,
                    source=self.source,
                    alert_key__in=keys[start : start + PREFETCH_CHUNK],
                )
                .filter(
                    Q(status=Alert.Status.FIRING)
                    | Q(incident__status__in=OPEN)
                    | Q(last_seen__gt=self.at)
                )
                .select_related("incident")
                .order_by("-pk")
            )
            for alert in rows:
                self.alerts.setdefault((alert.channel_id, alert.alert_key), alert)

    def _reload_incidents(self) -> None:
        """Read the incidents again now that their group locks are held."""
        ids = {a.incident_id for a in self.alerts.values() if a.incident_id is not None}
        self.incidents = Incident.objects.in_bulk(ids)
        for alert in self.alerts.values():
            alert.incident = self.incidents.get(alert.incident_id)

    def _open_incident_for(self, channel: Channel, key: str) -> Incident | None:
        if key.startswith("alert:"):
            # One incident per alert: the key is the alert's identity, whose open incident
            # the prefetch would have found, so there is none.
            return None
        candidates = Incident.objects.filter(channel=channel, group_key=key, status__in=OPEN)
        if channel.group_window is not None:
            candidates = candidates.filter(created_at__gte=self.at - channel.group_window)
        found = candidates.order_by("-created_at").first()
        return self.incidents.setdefault(found.pk, found) if found else None

    # --- changing -----------------------------------------------------------------------------

    def _merge_firing(self, channel: Channel, alert: Alert, event: AlertEvent) -> None:
        refired = alert.status == Alert.Status.RESOLVED
        self._copy_event(alert, event)
        alert.status = Alert.Status.FIRING
        alert.resolved_at = None
        self._count_event(alert)
        self._touch(alert.incident, event.severity)
        self._happen(Hook.ALERT_UPDATED, alert)
        if refired:
            self.flaps.trigger(channel, alert, alert.incident)
            self._note(
                alert.incident,
                Kind.ALERT_REFIRED,
                phrase("alert.refired", title=event.title),
                alert=alert,
            )

    def _merge_suppressed(self, channel: Channel, alert: Alert, event: AlertEvent) -> None:
        """A further event of a firing suppressed alert: counted on it, which stays
        suppressed (it opens no incident and notifies nobody) while something suppresses it,
        and opens its incident once nothing does."""
        self._copy_event(alert, event)
        self._count_event(alert)
        self._recheck_suppressed(channel, alert, event)

    def _open_alert(self, channel: Channel, event: AlertEvent) -> None:
        verdict = self._noise_verdict(channel, event)
        if verdict is not None:
            self._open_suppressed(channel, event, verdict)
            return
        alert = Alert(
            channel=channel,
            source=self.source,
            alert_key=event.alert_key,
            first_seen=self.at,
            last_seen=self.at,
        )
        self._copy_event(alert, event)
        inhibited = self.inhibitor.check(channel, event)
        if inhibited is not None:
            self._inhibit(channel, alert, inhibited)
        else:
            self._place(channel, alert, event)

    def _inhibit(self, channel: Channel, alert: Alert, inhibited: inhibition.Inhibition) -> None:
        """Keep the alert marked as inhibited, with no incident; or drop it."""
        if inhibited.drop:
            return
        alert.suppressed = Alert.Suppression.INHIBITED
        alert.suppressed_detail = inhibited.detail()
        alert.save()
        self.alerts[(channel.pk, alert.alert_key)] = alert

    def _place(self, channel: Channel, alert: Alert, event: AlertEvent) -> None:
        """Put a new (or no longer suppressed) alert into the open incident of its group, or
        into a new incident."""
        key = group_key(channel, self.source, event)
        incident = self._open_incident_for(channel, key)
        joins_existing = incident is not None
        if incident is None:
            incident = self._new_incident(channel, key, event)
        alert.incident = incident
        if alert.pk is None:
            self.new_alerts.append(alert)
        else:  # a suppressed alert let go
            alert.save()
        self._note_first_alert(incident, alert, opened=not joins_existing)
        self.alerts[(channel.pk, event.alert_key)] = alert
        self.inhibitor.opened(alert)
        self.flaps.trigger(channel, alert, incident)
        if joins_existing:  # a new incident is written with its first alert counted
            self._touch(incident, event.severity, new_alert=True)
        self._note(
            incident,
            Kind.ALERT_ADDED,
            phrase("alert.added", title=event.title),
            alert=alert,
            severity=event.severity,
        )
        self._happen(Hook.ALERT_CREATED, alert)

    def _note_first_alert(self, incident: Incident, alert: Alert, *, opened: bool) -> None:
        """Keep the first alert (by first seen, then id, as ``incident_subject`` reads it) of
        each incident the batch opened: a suppressed alert let go may join one and be older."""
        known = self.first_alerts.get(incident.pk)
        if opened or (known is not None and _age(alert) < _age(known)):
            self.first_alerts[incident.pk] = alert

    # --- order: events merged after a later-received one (``oncall.early_resolves``) ------------

    def _ended_later(self, channel: Channel, event: AlertEvent) -> bool:
        """Whether a resolve received after this push, merged before it, ended the alert this
        firing would open: read once, for every firing of the batch with no alert."""
        if self.ended_later is None:
            new = {(c.pk, e.alert_key) for c, e in self.pairs if e.kind == EventKind.FIRING}
            self.ended_later = early_resolves.resolved_after(
                self.source, self.at, new - set(self.alerts)
            )
        return (channel.pk, event.alert_key) in self.ended_later

    def _remember_early_resolves(self) -> None:
        """Remember the batch's resolves that found no alert (their firing may be merged
        after them), unless the batch opened the alert after all."""
        early = self.resolved_early - set(self.alerts)
        if early:
            early_resolves.remember(self.source, self.at, early)
        self.resolved_early = set()

    # --- noise reduction: pipelines' drops, silences, inhibition (``oncall.noise``) -------------

    def _noise_verdict(self, channel: Channel, event: AlertEvent) -> Verdict | None:
        """Why a new alert opens no incident: its source's pipeline dropped it, or a silence
        holds it; None when nothing does."""
        if event.dropped:
            return pipeline_verdict(event)
        if self.silences is None:
            self.silences = SilenceBook.load(self._channels(), self.at)
        return self.silences.verdict(channel.pk, event)

    def _open_suppressed(self, channel: Channel, event: AlertEvent, verdict: Verdict) -> None:
        """Store a suppressed alert (no incident, marked why), or nothing if dropped."""
        if not verdict.keep:
            return
        alert = Alert(
            channel=channel,
            source=self.source,
            incident=None,
            alert_key=event.alert_key,
            first_seen=self.at,
            last_seen=self.at,
            suppressed=verdict.why,
            suppressed_detail=verdict.detail,
        )
        self._copy_event(alert, event)
        alert.save()
        self.alerts[(channel.pk, event.alert_key)] = alert
        if verdict.why == Alert.Suppression.SILENCED:
            hold(alert, verdict)

    def _recheck_suppressed(self, channel: Channel, alert: Alert, event: AlertEvent) -> None:
        """A firing suppressed alert seen again (a new event, or the sweep once its silence
        ended): asked again, in the order a new alert is (its source's pipeline, the
        channel's silences, then inhibition), whether it stays suppressed, maybe for another
        reason, or its incident opens now. Once stored, an alert is kept marked even when
        what suppresses it now would have dropped it."""
        was_silenced = alert.suppressed == Alert.Suppression.SILENCED
        verdict = self._noise_verdict(channel, event)
        if verdict is not None:
            self._mark_suppressed(alert, verdict.why, verdict.detail)
            if verdict.why == Alert.Suppression.SILENCED:
                hold(alert, verdict)
            elif was_silenced:
                unhold(alert)
            return
        if was_silenced:
            unhold(alert)
        inhibited = self.inhibitor.check(channel, event)
        if inhibited is not None:
            self._mark_suppressed(alert, Alert.Suppression.INHIBITED, inhibited.detail())
            return
        alert.suppressed, alert.suppressed_detail = None, {}
        self._place(channel, alert, event)

    def _mark_suppressed(self, alert: Alert, why: str, detail: dict[str, Any]) -> None:
        if (alert.suppressed, alert.suppressed_detail) != (why, detail):
            Alert.objects.filter(pk=alert.pk).update(suppressed=why, suppressed_detail=detail)
            alert.suppressed, alert.suppressed_detail = why, detail

    def _new_incident(self, channel: Channel, key: str, event: AlertEvent) -> Incident:
        if self.maintenance is None:
            self.maintenance = MaintenanceBook.load(self.at)
        window = self.maintenance.window_for(channel.pk, self.source.pk)
        incident = Incident(
            maintenance_window=window,
            number=new_incident_number(),
            channel=channel,
            title=event.title,
            severity=event.severity,
            group_key=key,
            created_at=self.at,
            alert_count=1,
            last_alert_at=self.at,
        )
        if not self.later:  # else a later chunk may change it: it is planned at the end
            rule = escalation_rules.rule_for(
                incident, timezone.now(), channel=channel, first_alert=_first(event, self.at)
            )
            escalation.start_plan(incident, rule, timezone.now())
        incident.save(force_insert=True)
        if not self.later:
            self.planned.add(incident.pk)
        self.incidents[incident.pk] = incident
        self.opened.append(incident)
        self._note(incident, Kind.CREATED, phrase("created.by_source", source=self.source.name))
        if window is not None:
            self._note(incident, Kind.MAINTENANCE, maintenance_opened(window), window=window.name)
        return incident

    def _resolve(self, channel: Channel, alert: Alert, event: AlertEvent) -> None:
        alert.status = Alert.Status.RESOLVED
        alert.resolved_at = event.ends_at or self.at
        self._count_event(alert)
        self._happen(Hook.ALERT_RECOVERED, alert)
        incident = alert.incident
        if incident is None or not incident.is_open:
            return  # suppressed (no incident), or its incident was closed meanwhile
        recovered = phrase("alert.recovered", title=alert.title)
        self._note(incident, Kind.ALERT_RESOLVED, recovered, alert=alert)
        if self._all_recovered(incident, alert) and channel.auto_close:
            self._write_webhook_events()  # before the close's own, which come after them
            outcome = lifecycle.close(
                incident, Actor.system(), reason="every alert recovered", savepoint=False
            )
            incident.status = outcome.incident.status

    def _all_recovered(self, incident: Incident, alert: Alert) -> bool:
        """Whether none of the incident's alerts fires now that ``alert`` recovered. When the
        incident holds that alert alone (its count, read under its group lock and with this
        batch's additions, says so) the answer needs no query: the usual case of one alert per
        incident. The batch's alerts are written before the query; the close that may follow
        reads none (its webhook events, which show them, write them first)."""
        touch = self.touched.get(incident.pk)
        count = incident.alert_count + (touch.new_alerts if touch else 0)
        if count == 1 and alert.incident_id == incident.pk:
            return True
        self._write_alerts()
        return not incident.alerts.filter(status=Alert.Status.FIRING).exists()

    def _acknowledge(self, alert: Alert) -> None:
        self._write_alerts()  # the lifecycle service reads them
        self._write_webhook_events()  # before the claim's own, which come after them
        try:
            outcome = lifecycle.claim(alert.incident, self.actor)
        except lifecycle.TransitionRefused:
            return  # already claimed: whoever claimed it keeps it
        alert.incident.status = outcome.incident.status

    def _plan_escalations(self) -> None:
        """Level 1 of each incident the batch (or an earlier chunk) opened and did not close
        again, once its alerts and severity are known, since they decide which rule escalates
        it; an incident a later chunk may still change waits (``waiting``). One planned with
        its insert is written again only if its plan changed (its severity chose another
        rule, flapping quieted it)."""
        waiting = Incident.objects.select_for_update().filter(pk__in=self.waiting).order_by("pk")
        candidates = self.opened + list(waiting)
        changed_later = self._changed_later(candidates)
        self.waiting = [incident.pk for incident in candidates if incident.pk in changed_later]
        ready = [i for i in candidates if i.pk not in changed_later and i.is_open]
        now = timezone.now()
        self._unplan_closed([i for i in self.opened if i.pk in self.planned and not i.is_open])
        channels = {channel.pk: channel for channel, _ in self.pairs}
        for incident in ready:
            rule = escalation_rules.rule_for(
                incident,
                now,
                channel=channels.get(incident.channel_id),
                first_alert=self.first_alerts.get(incident.pk),
            )
            if incident.pk not in self.planned or not escalation.planned_as(incident, rule):
                escalation.start_plan(incident, rule, now)
                escalation.save_plan(incident)
            if rule is None:
                self._note(incident, Kind.ESCALATION, escalation.no_rule_message(), system=True)
        escalation.hand_out_starts(ready)

    def _unplan_closed(self, incidents: list[Incident]) -> None:
        """An incident planned with its insert and closed again in the batch (its alerts all
        recovered) keeps no rule: as a merge that plans at the end leaves it."""
        for incident in incidents:
            escalation.start_plan(incident, None, timezone.now())
            escalation.save_plan(incident)

    def _changed_later(self, incidents: list[Incident]) -> set[int]:
        """The incidents a later chunk of the push touches: its group, or one of its alerts."""
        if not self.later:
            return set()
        changed = {i.pk for i in incidents if group_lock(i.channel_id, i.group_key) in self.later}
        alerts = Alert.objects.filter(incident__in=[i.pk for i in incidents])
        for incident_id, channel_id, source_id, key in alerts.values_list(
            "incident_id", "channel_id", "source_id", "alert_key"
        ):
            if alert_lock(channel_id, source_id, key) in self.later:
                changed.add(incident_id)
        return changed

    def _copy_event(self, alert: Alert, event: AlertEvent) -> None:
        alert.title = event.title
        alert.description = event.description
        alert.severity = event.severity
        alert.raw_severity = event.raw_severity[:64]
        alert.labels = event.labels
        alert.links = [{"href": link.href, "text": link.text} for link in event.links]
        alert.images = [{"src": i.src, "alt": i.alt, "href": i.href} for i in event.images]
        if event.starts_at is not None:
            # The source's own start (a refire brings the new episode's); an event without
            # one keeps the time known. Never later than the console first heard of it (a
            # sender's fast clock): clamped here, once, so that every reader takes it as is.
            alert.started_at = min(event.starts_at, alert.first_seen)
        alert.pipeline = [asdict(step) for step in event.pipeline]

    def _count_event(self, alert: Alert) -> None:
        """Count the event on the alert, to be written with the batch's other changed alerts.
        (The batch holds the alert's identity lock, so the count in memory is the true one.)
        Its last-seen moment never moves back: an event older than the alert's last one (two
        pushes of one sender merged in the other order still make two events) is counted and
        changes nothing else."""
        if alert.last_seen is None or alert.last_seen < self.at:
            alert.last_seen = self.at
        alert.event_count += 1
        self.dirty[id(alert)] = alert

    def _touch(self, incident: Incident, severity: str, *, new_alert: bool = False) -> None:
        """An incident is as urgent as its most urgent alert."""
        worst = Severity.most_urgent(incident.severity, severity)
        if worst == incident.severity and not new_alert:
            return  # a repeat of a known alert changes nothing on its incident
        incident.severity = worst
        touch = self.touched.setdefault(incident.pk, IncidentTouch(worst))
        touch.severity = worst
        touch.new_alerts += int(new_alert)

    def _note(
        self,
        incident: Incident,
        kind: Entry.Kind,
        message: Phrase | str,
        *,
        alert: Alert | None = None,
        system: bool = False,
        **data: Any,
    ) -> None:
        if alert is not None:
            data["alert"] = str(alert.public_id)
        actor = Actor.system() if system else self.actor
        entry = build(incident, kind, actor, message, data=data, at=self.at)
        self.entries.append(entry)
        happening = outbox.for_entry(entry)
        if happening is not None:
            self.happened.append(happening)

    def _happen(self, event_type: str, alert: Alert) -> None:
        self.happened.append(AlertHappening(event_type, alert))

    def _write_webhook_events(self) -> None:
        """The webhook events so far, with the alerts they show written first; while no
        endpoint listens, neither (the alerts are written when something reads them)."""
        if self.happened:
            if outbox.listening():
                self._write_alerts()
                outbox.write(
                    [h.made(self.at) if isinstance(h, AlertHappening) else h for h in self.happened]
                )
            self.happened = []

    def _write_alerts(self) -> None:
        """Write the batch's new and changed alerts: call it before anything reads alerts from
        the database (a question, the lifecycle service) and at the end."""
        inserted = set()
        if self.new_alerts:
            Alert.objects.bulk_create(self.new_alerts)
            inserted = {id(alert) for alert in self.new_alerts}
            self.new_alerts = []
        changed = [alert for key, alert in self.dirty.items() if key not in inserted]
        if changed:
            update_rows(Alert, changed, ALERT_EVENT_FIELDS)
        self.dirty.clear()

    def _write_touches(self) -> None:
        for incident_id, touch in self.touched.items():
            changes: dict[str, Any] = {"severity": touch.severity}
            if touch.new_alerts:
                changes["alert_count"] = F("alert_count") + touch.new_alerts
                changes["last_alert_at"] = self.at
                changes.update(self._storm_warning(self.incidents[incident_id], touch.new_alerts))
            Incident.objects.filter(pk=incident_id).update(**changes)

    def _storm_warning(self, incident: Incident, new_alerts: int) -> dict[str, Any]:
        """Once the incident's alert count reaches a storm threshold of its channel: the
        timeline says so and its current level is notified once more (``oncall.noise.storms``);
        the field to write with the incident's other changes."""
        count = incident.alert_count + new_alerts  # read under the group lock: the true count
        channel = next(c for c, _ in self.pairs if c.pk == incident.channel_id)
        threshold = storms.reached(channel, incident, count)
        if threshold is None:
            return {}
        incident.storm_alerts = threshold
        level, report = 0, None
        if incident not in self.opened and incident.pk not in self.waiting:
            level, report = storms.notify_again(incident, count, timezone.now())
        self._note(
            incident,
            Kind.ALERT_STORM,
            storms.describe(count, level, report),
            **{
                "alerts": count,
                "threshold": threshold,
                "level": level,
                "notified": report.notified if report else [],
            },
        )
        return {"storm_alerts": threshold}

    def _mark_flapping(self) -> None:
        """Mark the incidents whose alert keys the batch found flapping
        (``oncall.noise.flapping``); a quiet one stops notifying."""
        for flap in self.flaps.flush():
            flapping.mark(flap, self.at)
            self._note(
                flap.incident, Kind.FLAPPING, flapping.describe(flap), triggers=flap.triggers
            )


@dataclass(frozen=True)
class AlertHappening:
    """An alert's webhook event, made once the alert is written (``Merger._happen``)."""

    event_type: str
    alert: Alert

    def made(self, at: datetime) -> outbox.Happening:
        return outbox.for_alert(self.event_type, self.alert, at)


def _age(alert: Alert) -> tuple[datetime, bool, int]:
    """What orders an incident's alerts, oldest first, as ``incident_subject`` reads them
    (first seen, then id): one the batch has yet to insert comes after every stored one, and
    is inserted in the order it was placed."""
    return (alert.first_seen, alert.pk is None, alert.pk or 0)


def reconsider(source: AlertSource, channel: Channel, alerts: list[Alert], at: datetime) -> None:
    """Re-examine alerts a silence kept, under the batch's locks (``oncall.noise.silences``
    calls it when their silence ended): each opens its incident unless still silenced. Call it
    in a transaction."""
    pairs = [(channel, _event_of(alert)) for alert in alerts]
    Merger(source, at, pairs).run_reconsider()


def _first(event: AlertEvent, at: datetime) -> Alert:
    """The alert ``event`` opens, as far as an escalation rule's matchers read it."""
    return Alert(
        title=event.title,
        description=event.description,
        alert_key=event.alert_key,
        labels=event.labels,
        first_seen=at,
    )


def _event_of(alert: Alert) -> AlertEvent:
    """The alert's latest state as a firing event: what silences and grouping look at."""
    return AlertEvent(
        alert_key=alert.alert_key,
        kind=EventKind.FIRING,
        title=alert.title,
        severity=Severity(alert.severity),
        raw_severity=alert.raw_severity,
        description=alert.description,
        labels=dict(alert.labels),
    )


def touched_names(
    source: AlertSource, pairs: Iterable[tuple[Channel, AlertEvent]]
) -> frozenset[str]:
    """What merging ``pairs`` may change, named as their advisory locks are: each event's
    alert identity and the group it would join (``Merger.later``)."""
    names = set()
    for channel, event in pairs:
        names.add(alert_lock(channel.pk, source.pk, event.alert_key))
        names.add(group_lock(channel.pk, group_key(channel, source, event)))
    return frozenset(names)


def group_names(incident_ids: list[int]) -> list[tuple[int, str]]:
    """(channel id, group key) of each incident: what its group lock is named after."""
    if not incident_ids:
        return []
    return list(Incident.objects.filter(pk__in=incident_ids).values_list("channel_id", "group_key"))


def plan_left_waiting(incident_ids: list[int]) -> None:
    """Plan level 1 of incidents a push left waiting for chunks that will never run (it was
    marked failed): better escalated with what they have than never. Call it in a
    transaction."""
    advisory_lock(group_lock(c, k) for c, k in group_names(incident_ids))
    now = timezone.now()
    incidents = Incident.objects.select_for_update().filter(pk__in=incident_ids, status__in=OPEN)
    for incident in incidents.order_by("pk"):
        escalation.plan_start(incident, now)


def alert_lock(channel_id: int, source_id: int | None, alert_key: str) -> str:
    """The advisory lock name of one alert identity. Whatever moves an alert between
    incidents (``lifecycle.merge`` and ``lifecycle.split``) takes it too."""
    return f"alert:{channel_id}:{source_id}:{alert_key}"


def group_lock(channel_id: int, key: str) -> str:
    """The advisory lock name of one grouping key of a channel."""
    return f"group:{channel_id}:{key}"


def advisory_lock(names: Iterable[str]) -> None:
    """Take PostgreSQL transaction-level advisory locks on ``names``, in sorted order."""
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time already
    ids = sorted(
        {int.from_bytes(hashlib.sha256(n.encode()).digest()[:8], "big", signed=True) for n in names}
    )
    if ids:
        with connection.cursor() as cursor:
            # unnest() yields the sorted array in order, so the locks are taken in that order.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(id) FROM unnest(%s::bigint[]) AS id", [ids]
            )


def new_incident_number() -> int | RawSQL:
    """What a new incident's ``number`` is inserted with: on PostgreSQL the sequence's next
    value, taken by the INSERT itself and read back by its ``RETURNING`` (``Incident.number``
    is a ``DatabaseNumberField``), which saves a round trip per new incident; elsewhere
    ``next_incident_number()``."""
    if connection.vendor == "postgresql":
        return RawSQL("nextval('oncall_incident_number_seq')", ())
    return next_incident_number()


def next_incident_number() -> int:
    """Console-wide incident numbers. PostgreSQL: a sequence, so concurrent batches never wait
    on each other (a rolled-back batch leaves a gap). Elsewhere a counter row, which SQLite's
    single writer serialises anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('oncall_incident_number_seq')")
            return cursor.fetchone()[0]
    counter, _ = Counter.objects.get_or_create(name="incident")
    Counter.objects.filter(pk=counter.pk).update(value=F("value") + 1)
    counter.refresh_from_db()
    return counter.value
