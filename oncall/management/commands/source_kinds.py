"""``manage.py source_kinds [--write]`` (``python3 dev.py kinds``): the README's table of alert
source kinds, built from the registered classes' ``sender``, ``identity``, ``severity_table`` and
``recovery``, so the README cannot drift from the code (``tests/sources/test_contract.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from oncall.sources import kinds_table

BEGIN = "<!-- kinds: python3 dev.py kinds --write -->\n"
END = "<!-- /kinds -->\n"


def readme_path() -> Path:
    return Path(settings.BASE_DIR) / "README.md"


def readme_with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the two markers replaced by ``table``."""
    try:
        head, rest = readme.split(BEGIN, 1)
        _old, tail = rest.split(END, 1)
    except ValueError:
        raise CommandError(f"README.md has no {BEGIN.strip()} ... {END.strip()} section") from None
    return f"{head}{BEGIN}{table}{END}{tail}"


class Command(BaseCommand):
    help = "Print the README's table of alert-source kinds; --write puts it into README.md."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--write", action="store_true", help="update README.md in place")

    def handle(self, *args: Any, write: bool = False, **options: Any) -> None:
        table = kinds_table()
        if not write:
            self.stdout.write(table, ending="")
            return
        path = readme_path()
        path.write_text(readme_with_table(path.read_text(encoding="utf-8"), table), "utf-8")
        self.stdout.write(f"README.md: {table.count(chr(10)) - 2} kinds")
