"""Compiling the console's translations (``locale/<language>/LC_MESSAGES/django.po``) into the
``.mo`` files Django reads, in Python (polib), so that no GNU gettext install is needed: the
``.po`` files are the source, and ``.mo`` files are build output that git ignores.

``dev.py`` and the test suite compile before they start; a deployment runs
``manage.py compile_translations`` next to ``collectstatic``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polib


def catalogs(locale_dirs: Iterable[Path]) -> list[Path]:
    return sorted(po for root in locale_dirs for po in Path(root).glob("*/LC_MESSAGES/*.po"))


def compile_catalogs(locale_dirs: Iterable[Path], *, force: bool = False) -> list[Path]:
    """Write each ``.po``'s ``.mo`` when it is missing or older; returns those written.

    Fuzzy and untranslated entries are left out (the English text shows), as msgfmt does."""
    written = []
    for po_path in catalogs(locale_dirs):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalog = polib.pofile(str(po_path))
        # Write beside and rename: a process reading the catalog never sees half a file.
        partial = mo_path.with_suffix(".mo.partial")
        catalog.save_as_mofile(str(partial))
        partial.replace(mo_path)
        written.append(mo_path)
    return written
