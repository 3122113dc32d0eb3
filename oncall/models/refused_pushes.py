"""Pushes a source refused, kept so that its admin page can show what was sent and why."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import DatabaseError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


class RefusedPush(models.Model):
    """A push answered 400 or 413 because of its body (not a refused token: those name no
    source). Only the last ``KEEP`` per source are kept, each payload cut to
    ``MAX_PAYLOAD_BYTES``; headers and the query string are never stored, since they may carry
    the push token or a signature."""

    KEEP = 20
    MAX_PAYLOAD_BYTES = 16 * 1024

    source = models.ForeignKey(
        "oncall.AlertSource",
        on_delete=models.CASCADE,
        related_name="refused_pushes",
        verbose_name=_("source"),
    )
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))
    status = models.PositiveSmallIntegerField(_("status"))
    code = models.CharField(_("code"), max_length=64)
    message = models.TextField(_("reason"))
    field = models.CharField(_("field"), max_length=255, blank=True)
    payload = models.TextField(_("payload"), blank=True)
    body_bytes = models.PositiveIntegerField(_("body size in bytes"), default=0)
    payload_truncated = models.BooleanField(default=False, verbose_name=_("payload truncated"))

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["source", "-id"], name="refused_push_source_newest")]
        verbose_name = _("refused push")
        verbose_name_plural = _("refused pushes")

    def __str__(self) -> str:
        return f"{self.source_id} @ {self.received_at:%Y-%m-%d %H:%M:%S}: {self.status} {self.code}"

    @classmethod
    def record(
        cls,
        source: Any,
        *,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        payload: Any = None,
        raw_body: bytes | None = None,
        body_bytes: int = 0,
    ) -> RefusedPush | None:
        """Store one refusal and drop the source's older ones past ``KEEP``, together.

        Called once the push's own work is over (nothing of it is stored: it was refused), in a
        transaction of its own. A failure to record is logged, never raised: the sender must
        still get its 400, not a 500."""
        text = _payload_text(payload, raw_body)
        kept = text.encode()[: cls.MAX_PAYLOAD_BYTES].decode(errors="ignore")
        try:
            with transaction.atomic():
                refused = cls.objects.create(
                    source=source,
                    status=status,
                    code=code[:64],
                    message=message,
                    field=(field or "")[:255],
                    payload=kept,
                    body_bytes=body_bytes or len(text.encode()),
                    payload_truncated=len(kept) < len(text),
                )
                cls.prune(source)
        except DatabaseError:
            logger.exception("could not record the refused push of source %s", source.pk)
            return None
        return refused

    @classmethod
    def prune(cls, source: Any) -> None:
        """Keep the newest ``KEEP`` of ``source``'s refusals (one delete, under a flood too)."""
        newest = cls.objects.filter(source=source).order_by("-id").values_list("id", flat=True)
        cutoff = next(iter(newest[cls.KEEP - 1 : cls.KEEP]), None)
        if cutoff is not None:
            cls.objects.filter(source=source, id__lt=cutoff).delete()


def _payload_text(payload: Any, raw_body: bytes | None) -> str:
    """The body as sent when the console has its bytes (JSON it could not read), else the
    decoded JSON written back out."""
    if raw_body is not None:
        return raw_body.decode(errors="replace").replace("\x00", "\ufffd")
    if payload is None:
        return ""
    return json.dumps(payload, ensure_ascii=False, indent=1)
