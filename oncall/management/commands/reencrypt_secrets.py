"""Re-seal every encrypted column with the first key of ``FIELD_ENCRYPTION_KEYS``.

Key rotation: put the new key first (``FIELD_ENCRYPTION_KEYS=new,old``), restart, run this, then
remove the old key. Safe to run again: it only reads and rewrites values, never prints them.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from oncall.crypto import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every secret at rest with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        total = 0
        for model in apps.get_models():
            fields = [
                f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
            ]
            if fields:
                total += self._reencrypt(model, fields)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} row(s)."))

    def _reencrypt(self, model, fields: list[str]) -> int:
        count = 0
        with transaction.atomic():
            for row in model.objects.select_for_update().only("pk", *fields).iterator():
                # Loading decrypts with whichever key sealed the value; update() seals it again
                # with the first key.
                model.objects.filter(pk=row.pk).update(**{f: getattr(row, f) for f in fields})
                count += 1
        return count
