"""Fixture loading for the alert-source parser tests (pure: no database, no settings).

Payloads live next to their parser, in ``integrations/sources/<source>/fixtures/<case>.json``,
one per real event shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SOURCES_DIR = Path(__file__).resolve().parents[2] / "integrations" / "sources"


def fixtures_dir(source: str) -> Path:
    return SOURCES_DIR / source / "fixtures"


def _read(name: str) -> Any:
    source, case = name.split("/")
    return json.loads((fixtures_dir(source) / f"{case}.json").read_text(encoding="utf-8"))


def _cases(source: str, prefix: str = "") -> list[str]:
    return sorted(path.stem for path in fixtures_dir(source).glob(f"{prefix}*.json"))


@pytest.fixture
def load_fixture() -> Callable[[str], Any]:
    """Loads a payload by ``"<source>/<case>"`` name, freshly decoded on every call."""
    return _read


@pytest.fixture
def fixture_cases() -> Callable[..., list[str]]:
    """Lists one source's case names, optionally only those starting with a prefix."""
    return _cases
