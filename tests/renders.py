"""Counting card renders in tests: which incidents' cards a platform built afresh."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


def count_renders(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[int]:
    """Wrap ``module.incident_card`` (the card builder the module renders through): the list
    it returns receives the incident id of every card built, in order; the card is built as
    before."""
    rendered: list[int] = []
    builder = module.incident_card

    def counted(incident: Any, **kwargs: Any) -> Any:
        rendered.append(incident.pk)
        return builder(incident, **kwargs)

    monkeypatch.setattr(module, "incident_card", counted)
    return rendered
