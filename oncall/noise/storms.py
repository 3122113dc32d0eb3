"""Alert storm warning: an incident whose alert count reaches one of its channel's
``storm_thresholds`` records it on its timeline, and its current escalation level is notified
once more ("Alert storm: N alerts"), once per threshold: ``Incident.storm_alerts`` keeps the
highest threshold reached, in the batch's transaction, so no threshold is announced twice.

The notification goes through the chat platforms' contract, as every escalation step does
(``ChatPlatform.notify``, inside the transaction, sending after commit); to the person the
incident is assigned to when it left its rule. An incident the batch opened is not notified
again (its level 1 is about to be), nor one the escalation's gate keeps quiet now
(``escalation.gate``: claimed under "stop when claimed", snoozed, quietened by flapping, or in a
maintenance window): the timeline entry and the incident's storm badge say it all.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from oncall.platforms import LevelReport, notify_people
from oncall.timeline_messages import Phrase, people, phrase

if TYPE_CHECKING:
    from oncall.models import Channel, Incident


def reached(channel: Channel, incident: Incident, alert_count: int) -> int | None:
    """The storm threshold ``alert_count`` newly reaches, if any (the highest of them)."""
    crossed = [t for t in channel.storm_thresholds if incident.storm_alerts < t <= alert_count]
    return max(crossed, default=None)


def message(alert_count: int) -> str:
    return f"Alert storm: {alert_count} alerts"


def notify_again(incident: Incident, alert_count: int, now: datetime) -> tuple[int, LevelReport]:
    """Notify the incident's current level (or assignee) once more; (level, report), level 0
    when no level was notified."""
    from oncall import escalation

    if not escalation.gate(incident, now).open:
        return 0, LevelReport()
    if incident.assigned_to_id is not None and incident.escalation_rule_id is None:
        return 0, notify_people(incident, [incident.assigned_to], message(alert_count))
    return escalation.notify_current_level(incident, now)


def describe(alert_count: int, level: int, report: LevelReport | None) -> Phrase:
    """The timeline's words for the storm, and whom it notified again (in each reader's
    language)."""
    again: Phrase | str = ""
    unreachable: Phrase | str = ""
    if report is not None:
        who = people(report.notified)
        if level:
            again = phrase("storm.level_again", level=level, people=who)
        elif report.notified or report.unreachable:
            again = phrase("storm.again", people=who)
        if report.unreachable:
            unreachable = phrase("storm.unreachable", people=report.unreachable)
    return phrase("storm", count=alert_count, again=again, unreachable=unreachable)
