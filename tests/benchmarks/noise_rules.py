"""Noise-reduction rules for the ingest benchmark (``--noise-rules``), shaped on its alerts
(``ingest.batch_body``: alertname Bench0..Bench49, instance host-N, a random severity, job
node), so that they are evaluated as in a live channel rather than skipped.

Inhibition, grouping, storms and flapping (``oncall.noise``): 20 inhibit rules, each for one
alertname's warning and info alerts, inhibited by a critical alert of the same instance (their
new-alert conditions match about 40 % of the events, so their active alerts are read); grouping
branches by job for two alertnames (else one incident per alert, as without the rules); strict
grouping; storm thresholds; flapping marked.
"""

from __future__ import annotations

INHIBIT_RULES = 20


def seed_inhibition_and_grouping(channel_name: str = "Bench") -> None:
    from oncall.models import Channel, InhibitRule

    channel = Channel.objects.get(name=channel_name)
    channel.grouping_branches = [
        {
            "condition": [{"key": "labels.alertname", "op": "eq", "value": f"Bench{n}"}],
            "group_by": ["job"],
        }
        for n in (48, 49)
    ]
    channel.strict_grouping = True
    channel.storm_thresholds = [20, 100, 500]
    channel.flapping = Channel.Flapping.MARK
    channel.full_clean()
    channel.save()
    InhibitRule.objects.filter(channel=channel).delete()
    for n in range(INHIBIT_RULES):
        rule = InhibitRule(
            channel=channel,
            name=f"Bench{n}: critical inhibits the rest",
            new_alert_condition=[
                {"key": "labels.alertname", "op": "eq", "value": f"Bench{n}"},
                {"key": "severity", "op": "re", "value": "warning|info"},
            ],
            active_condition=[{"key": "severity", "op": "eq", "value": "critical"}],
            equal=["labels.instance"],
        )
        rule.full_clean()
        rule.save()
