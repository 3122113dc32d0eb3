"""The e-mail source's task: read one stored message into events (``intake.process``)."""

from __future__ import annotations

from celery import shared_task

from integrations.sources.email import intake


@shared_task(ignore_result=True)
def process_inbound_mail(mail_id: int) -> bool:
    """Thin: the mail is re-read and locked by ``intake.process``, which returns quietly when
    it is gone or already read. A failure is recorded on the row; the listener's sweep hands
    the mail out again, up to ``intake.MAX_PROCESS_ATTEMPTS`` tries."""
    return intake.process(mail_id)
