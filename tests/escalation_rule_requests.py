"""What the admin's form and the API are sent to create an escalation rule with its levels."""

from __future__ import annotations

from oncall.models import Channel


def rule_form(channel: Channel, *levels: dict, **fields) -> dict:
    """The add / change form of a rule with its levels inline, as the browser posts it."""
    form = {
        "channel": channel.pk,
        "name": "Databases, nights",
        "position": "1",
        "enabled": "on",
        "severities": ["critical"],
        # The matchers as the form's rows post them (oncall.admin.structured).
        "matchers-rows": "1",
        "matchers-key": ["labels.team"],
        "matchers-op": ["eq"],
        "matchers-value": ["db"],
        "days": ["0", "4"],
        "start_time": "22:00",
        "end_time": "06:00",
        "timezone": "Asia/Shanghai",
        "feishu_app": "",
        "stop_when": "claimed",
        "repeat_rule_times": "1",
        "levels-TOTAL_FORMS": str(len(levels)),
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, level in enumerate(levels):
        level = {"repeat_times": "0", **level}  # the browser posts the initial value
        form.update({f"levels-{index}-{name}": value for name, value in level.items()})
    return form


MEMBERS = {"notify_channel_members": True}


def payload(channel: Channel, *levels: dict, **fields) -> dict:
    return {
        "channel": str(channel.public_id),
        "name": "Critical in prod",
        "position": 1,
        "severities": ["critical"],
        "matchers": [{"key": "labels.env", "op": "eq", "value": "prod"}],
        "days": [0, 1, 2, 3, 4],
        "start_time": "09:00",
        "end_time": "18:00",
        "timezone": "Asia/Shanghai",
        "levels": list(levels) or [MEMBERS],
        **fields,
    }
