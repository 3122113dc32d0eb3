"""Create the first admin account if there is none (used by ``python3 dev.py up``).

Credentials come from ``ONCALL_ADMIN_USERNAME`` / ``ONCALL_ADMIN_PASSWORD``; without a password
one is generated, kept in ``DATA_DIR/admin-password`` and printed, so the quick start works with
no typing and a second start prints the same credentials.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first superuser if none exists, and print how to sign in."

    def handle(self, *args, **options) -> None:
        from oncall.env import env_str

        User = get_user_model()
        username = env_str("ONCALL_ADMIN_USERNAME") or "admin"
        password_file = settings.DATA_DIR / "admin-password"
        if User.objects.filter(is_superuser=True).exists():
            if password_file.exists() and User.objects.filter(username=username).exists():
                self._print(username, password_file.read_text().strip())
            else:
                self.stdout.write("An admin account exists already.")
            return
        password = env_str("ONCALL_ADMIN_PASSWORD")
        shown = "the password in ONCALL_ADMIN_PASSWORD"
        if not password:
            password = shown = secrets.token_urlsafe(12)
            password_file.write_text(password)
            password_file.chmod(0o600)
        User.objects.create_superuser(username=username, email="", password=password)
        self._print(username, shown)

    def _print(self, username: str, password: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"Admin sign-in: {username} / {password}"))
