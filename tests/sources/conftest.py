"""Fixture loading for the alert-source parser tests (pure: no database, no settings).

Payloads live in ``tests/fixtures/sources/<source>/<case>.json``, one per real event shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "sources"


def _read(name: str) -> Any:
    return json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _cases(source: str, prefix: str = "") -> list[str]:
    return sorted(path.stem for path in (FIXTURES_DIR / source).glob(f"{prefix}*.json"))


@pytest.fixture
def load_fixture() -> Callable[[str], Any]:
    """Loads a payload by ``"<source>/<case>"`` name, freshly decoded on every call."""
    return _read


@pytest.fixture
def fixture_cases() -> Callable[..., list[str]]:
    """Lists one source's case names, optionally only those starting with a prefix."""
    return _cases
