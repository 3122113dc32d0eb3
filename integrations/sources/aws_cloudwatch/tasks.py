"""Confirming an Amazon SNS subscription (see ``sns.py``): the one outbound call of the SNS
kinds, through the console's outbound guard, noted on the source's recent events."""

from __future__ import annotations

import logging

import requests
from celery import Task, shared_task
from django.utils import timezone

from integrations.sources.aws_cloudwatch.sns import subscribe_url_problem
from oncall import outbound
from oncall.models import AlertSource, InboundEvent

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
RETRY_SECONDS = 30


@shared_task(bind=True, ignore_result=True, max_retries=3)
def confirm_subscription(self: Task, source_id: int, subscribe_url: str, topic_arn: str) -> None:
    """GET the ``SubscribeURL`` (SNS's ConfirmSubscription action) and note how it went.
    A connection error or a timeout is retried (SNS's URL stays valid for three days); the
    last one is noted like any other failure."""
    source = AlertSource.objects.filter(pk=source_id).first()
    if source is None:
        return
    problem = subscribe_url_problem(subscribe_url)  # re-checked: the task is the one caller
    if problem:
        note(source, f"Amazon SNS subscription to {topic_arn} not confirmed: {problem}.")
        return
    try:
        # https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html
        response = outbound.session().get(subscribe_url, timeout=TIMEOUT_SECONDS)
    except outbound.OutboundRefused as refused:
        note(source, f"Amazon SNS subscription to {topic_arn} not confirmed: {refused}.")
        return
    except (requests.ConnectionError, requests.Timeout) as error:
        if self.request.retries < self.max_retries:
            # Retried with a bare reason: the error's text holds the URL and its token.
            bare = type(error)(_reason(error))
            raise self.retry(exc=bare, countdown=RETRY_SECONDS * 2**self.request.retries) from None
        note(source, f"Amazon SNS subscription to {topic_arn} not confirmed: {_reason(error)}.")
        return
    except requests.RequestException as error:
        note(source, f"Amazon SNS subscription to {topic_arn} not confirmed: {_reason(error)}.")
        return
    if response.ok:
        note(source, f"Amazon SNS subscription to {topic_arn} confirmed.")
    else:
        note(
            source,
            f"Amazon SNS subscription to {topic_arn} not confirmed: SNS answered "
            f"{response.status_code}.",
        )


def _reason(error: requests.RequestException) -> str:
    # The exception's class says what happened; its text can carry the whole URL and token.
    return f"the request failed ({type(error).__name__})"


def note(source: AlertSource, text: str) -> None:
    """One processed push with no events and ``text`` as its note: the source's recent events
    are where an admin looks for what its sender did."""
    now = timezone.now()
    InboundEvent.objects.create(
        source=source,
        received_at=now,
        processed_at=now,
        status=InboundEvent.Status.PROCESSED,
        events=[],
        notes=[text],
    )
    logger.info("source %s: %s", source.pk, text)
