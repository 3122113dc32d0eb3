"""The embedded default (SQLite under DATA_DIR, no DATABASE_URL) as a new user meets it: the
README's commands work as written next to `dev.py up`, which turns DEBUG on only for itself;
a real database still requires its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a shell that has run nothing but `python3 dev.py up` has set: none of these.
CONFIGURED = (
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "FEISHU_SANDBOX_ENABLED",
    "PUBLIC_BASE_URL",
)


def a_new_users_shell(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIGURED and not k.endswith("_FILE")}
    return {**env, "DATA_DIR": str(data_dir), **extra}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_readmes_create_api_token_works_as_written_beside_dev_py_up(tmp_path):
    # dev.py up's first steps, with its DEBUG=true ...
    up = a_new_users_shell(tmp_path, DEBUG="true")
    assert manage(up, "migrate", "--no-input").returncode == 0
    assert manage(up, "ensure_admin").returncode == 0
    # ... then, in another terminal, the README's command exactly as written.
    made = manage(a_new_users_shell(tmp_path), "create_api_token", "admin", "--name", "laptop")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("oc_")


def test_the_embedded_default_keeps_its_generated_secrets_next_to_the_database(tmp_path):
    read = [sys.executable, "-c", "from oncall import settings; print(settings.SECRET_KEY)"]
    first = subprocess.run(read, cwd=ROOT, env=a_new_users_shell(tmp_path), capture_output=True)
    again = subprocess.run(read, cwd=ROOT, env=a_new_users_shell(tmp_path), capture_output=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    assert first.stdout.decode().strip() == (tmp_path / "secret_key").read_text().strip()


def test_a_real_database_still_requires_the_secret_key_when_debug_is_off(tmp_path):
    env = a_new_users_shell(tmp_path, DATABASE_URL="postgres://oncall@db.invalid:5432/oncall")
    loaded = subprocess.run(
        [sys.executable, "-c", "import oncall.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert loaded.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off and DATABASE_URL is set" in loaded.stderr
    assert not (tmp_path / "secret_key").exists()
