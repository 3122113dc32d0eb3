"""``python manage.py compile_translations [--force]``: build the ``.mo`` files from the
``.po`` files in ``LOCALE_PATHS`` without GNU gettext (see ``oncall.translations``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from oncall.translations import compile_catalogs


class Command(BaseCommand):
    help = "Compile the console's translations (.po to .mo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Rebuild every catalog.")

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        written = compile_catalogs(settings.LOCALE_PATHS, force=force)
        for path in written:
            self.stdout.write(f"compiled {path}")
        if not written:
            self.stdout.write("translations are up to date")
