from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from oncall.models import WebhookDelivery, WebhookEndpoint
from oncall.webhooks import delivery
from tests import factories
from tests.webhooks.receiver import Receiver


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    """The receivers listen on loopback, which the operator allows on purpose here."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def source(channel):
    return factories.AlertSourceFactory(channel=channel)


def make_endpoint(url: str, **fields) -> tuple[WebhookEndpoint, str]:
    """An endpoint and its secret (as the console shows it once)."""
    endpoint = WebhookEndpoint(name=fields.pop("name", "Receiver"), url=url, **fields)
    endpoint.full_clean()
    endpoint.save()
    return endpoint, endpoint.secret


@pytest.fixture
def receiver(db) -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def endpoint(receiver):
    endpoint, secret = make_endpoint(receiver.url)
    receiver.secrets.append(secret)
    return endpoint


def run_due(now: datetime) -> int:
    """Send every delivery due at ``now``, chains followed (what the tasks and the sweep do
    over time); how many attempts were made."""
    made = 0
    while True:
        due = list(
            WebhookDelivery.objects.filter(status="pending", next_attempt_at__lte=now)
            .order_by("incident_id", "sequence", "id")
            .values_list("pk", flat=True)
        )
        results = [delivery.send(pk, now) for pk in due]
        attempted = [r for r in results if r is not None]
        made += len(attempted)
        if not attempted:
            return made


def run_until_settled(limit: timedelta = timedelta(days=2)) -> datetime:
    """Let time pass (up to ``limit``), sending each delivery when it falls due, until none is
    pending; the moment it ended."""
    moment = timezone.now()
    end = moment + limit
    while moment <= end:
        run_due(moment)
        pending = WebhookDelivery.objects.filter(status="pending")
        if not pending.exists():
            break
        later = pending.filter(next_attempt_at__gt=moment).order_by("next_attempt_at")
        upcoming = later.values_list("next_attempt_at", flat=True).first()
        if upcoming is None:
            break  # what is pending waits for nothing time brings
        moment = upcoming
    return moment
