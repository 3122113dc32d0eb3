"""Which queue each task goes to: card sends and updates have their own."""

from __future__ import annotations

from django.conf import settings

from oncall.celery import app as celery_app


def queue_of(task_name: str) -> str:
    return celery_app.amqp.router.route({}, task_name)["queue"].name


def test_card_sends_and_updates_go_to_the_cards_queue():
    assert queue_of("integrations.feishu.tasks.send_cards") == settings.CELERY_CARDS_QUEUE
    assert queue_of("integrations.feishu.tasks.send_card") == settings.CELERY_CARDS_QUEUE
    assert queue_of("integrations.feishu.tasks.sync_cards") == settings.CELERY_CARDS_QUEUE


def test_everything_else_goes_to_the_default_queue():
    for name in ("oncall.tasks.process_inbound_event", "oncall.tasks.escalation_step"):
        assert queue_of(name) == settings.CELERY_TASK_DEFAULT_QUEUE


def test_the_cards_queue_follows_the_setting_when_a_task_is_sent(settings):
    settings.CELERY_CARDS_QUEUE = "elsewhere-cards"
    assert queue_of("integrations.feishu.tasks.send_card") == "elsewhere-cards"


def test_the_queues_a_worker_consumes_without_q_are_both():
    # What celery's worker subscribes to when started without -Q (``conf.task_queues``); a
    # real worker per queue is tested in tests/feishu/sandbox (consume=...).
    names = [queue.name for queue in celery_app.conf.task_queues]
    assert names == [settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_CARDS_QUEUE]


def test_webhook_tasks_go_to_the_webhooks_queue_which_no_plain_worker_consumes():
    for name in ("send_delivery", "hand_out", "sweep_deliveries"):
        assert queue_of(f"oncall.webhooks.tasks.{name}") == settings.CELERY_WEBHOOKS_QUEUE
    consumed = [queue.name for queue in celery_app.conf.task_queues]
    assert settings.CELERY_WEBHOOKS_QUEUE not in consumed
