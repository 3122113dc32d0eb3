"""``python manage.py create_api_token <username> [--name NAME]``: print a new API key once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from oncall.models import ApiToken


class Command(BaseCommand):
    help = "Create a REST API token for a user and print its key (it is not stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No active user {username!r}.") from None
        _, key = ApiToken.issue(user, name)
        self.stdout.write(key)
