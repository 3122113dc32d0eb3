"""The Feishu sandbox is a Django app of its own, installed (tables, URLs, seed command) only
where ``FEISHU_SANDBOX_ENABLED`` is on. Checked in a fresh interpreter per value, since the
installed apps are fixed when Django starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.apps import apps
from django.db.migrations.loader import MigrationLoader
from django.urls import Resolver404, resolve
try:
    resolve("/sandbox/feishu/")
    served = True
except Resolver404:
    served = False
graph = MigrationLoader(None, ignore_no_migrations=True).graph
print(json.dumps({
    "installed": apps.is_installed("integrations.feishu_sandbox"),
    "migrations": any(app == "feishu_sandbox" for app, _ in graph.nodes),
    "served": served,
    "feishu": apps.is_installed("integrations.feishu"),
}))
"""


def probe(enabled: str, tmp_path: Path) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oncall.settings",
        "DEBUG": "true",
        "DATA_DIR": str(tmp_path),
        "FEISHU_SANDBOX_ENABLED": enabled,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("enabled", "expected"), [("true", True), ("false", False)])
def test_the_sandbox_is_installed_only_when_enabled(enabled, expected, tmp_path):
    found = probe(enabled, tmp_path)
    assert found == {
        "installed": expected,
        "migrations": expected,
        "served": expected,
        "feishu": True,
    }
