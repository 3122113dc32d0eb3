"""The stub platform: every call the core makes through the contract is recorded in ``CALLS``;
a level's ``stub_addresses`` (API and admin field) are its own targets."""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework import serializers

from oncall.platforms import LevelReport, PlatformBase

CALLS: list[tuple[Any, ...]] = []
FIELD = "stub_addresses"


class _AddressesField(serializers.ListField):
    def get_attribute(self, level: Any) -> list[str]:
        return [t.address for t in level.stub_addresses.all()]


class StubTargets:
    def rule_fields(self) -> dict:
        return {}

    def level_fields(self) -> dict:
        return {FIELD: _AddressesField(child=serializers.CharField(), required=False)}

    def rule_form_fields(self, rule: Any) -> dict:
        return {}

    def level_form_fields(self, level: Any) -> dict:
        return {FIELD: forms.CharField(required=False, help_text="Comma-separated addresses.")}

    def level_has_targets(self, values: dict) -> bool:
        return bool(_addresses(values.get(FIELD)))

    def validate(self, rule: Any, rule_values: dict, levels: list[dict]) -> dict:
        return {
            index: {FIELD: ["Addresses end in .stub"]}
            for index, values in enumerate(levels)
            if any(not a.endswith(".stub") for a in _addresses(values.get(FIELD)))
        }

    def save(self, rule: Any, rule_values: dict, levels: Any) -> None:
        from tests.stub_platform.models import StubAddress

        for level, values in levels:
            if FIELD in values:
                level.stub_addresses.all().delete()
                StubAddress.objects.bulk_create(
                    StubAddress(level=level, address=a) for a in _addresses(values[FIELD])
                )


def _addresses(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [a.strip() for a in value or [] if a.strip()]


class StubPlatform(PlatformBase):
    name = "stub"
    label = "Stub"
    targets = StubTargets()

    def notify(self, incident: Any, rule: Any, level: Any, people: list[Any]) -> LevelReport:
        addresses = [t.address for t in level.stub_addresses.all()]
        CALLS.append(("notify", incident.pk, level.pk, addresses))
        return LevelReport([f"{a} (stub)" for a in addresses], [])

    def incident_changed(self, incident_id: int, kind: str, incident: Any) -> None:
        CALLS.append(("changed", incident_id, kind))

    def level_target_names(self, level: Any) -> list[str]:
        return [t.address for t in level.stub_addresses.all()]


# (incident id, level position) of every level ``RecordingPlatform`` was asked to notify.
NOTIFIED_LEVELS: list[tuple[int, int]] = []
# (incident id, usernames, reason) of every ``notify_people`` call ``RecordingPlatform`` had.
NOTIFIED_PEOPLE: list[tuple[int, list[str], str]] = []
# The username ``RecordingPlatform`` reports as unreachable.
UNREACHABLE = "unreachable"
RECORDING = "tests.stub_platform.platform.RecordingPlatform"


class RecordingPlatform(PlatformBase):
    """A platform for the escalation engine's tests: it records which level it was asked to
    notify and reports "level N people" as notified."""

    name = "recording"
    label = "Recording"

    def notify(self, incident: Any, rule: Any, level: Any, people: list[Any]) -> LevelReport:
        NOTIFIED_LEVELS.append((incident.pk, level.position))
        return LevelReport([f"level {level.position} people"], [])

    def notify_people(self, incident: Any, people: list[Any], reason: str) -> LevelReport:
        """Records the call; reports everyone notified but the person named ``UNREACHABLE``."""
        from oncall.timeline import display_name

        NOTIFIED_PEOPLE.append((incident.pk, [p.get_username() for p in people], reason))
        reached = [p for p in people if p.get_username() != UNREACHABLE]
        missed = [p for p in people if p.get_username() == UNREACHABLE]
        return LevelReport(
            [display_name(p) for p in reached],
            [f"{display_name(p)} (no address)" for p in missed],
            [p.pk for p in reached],
        )
