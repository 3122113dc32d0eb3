"""Celery finds tasks in ``<app>.tasks``: the Feishu integration's live in its package."""

from integrations.feishu.tasks import (  # noqa: F401
    answer_message,
    purge_callback_receipts,
    purge_rate_windows,
    resend_stalled_cards,
    send_card,
    send_cards,
    sync_all_chats,
    sync_app_chats,
    sync_cards,
)
