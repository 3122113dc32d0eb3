"""The Redis broker's transport (``oncall.broker``): messages published through one Redis
client per channel and pool arrive as kombu's own transport delivers them."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from kombu import Exchange, Producer, Queue

from oncall import broker
from oncall.celery import app

pytestmark = [
    pytest.mark.postgres,  # the stage that runs with a Redis broker
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://"), reason="needs a Redis broker"
    ),
]


@pytest.fixture
def queue():
    name = f"test-broker-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name), routing_key=name)
    yield queue
    with app.connection_for_write() as connection:
        queue(connection.default_channel).delete()


def test_it_is_the_transport_of_a_redis_broker():
    with app.connection_for_write() as connection:
        assert isinstance(connection.default_channel, broker.Channel)


def test_messages_published_through_one_client_arrive_in_order(queue):
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        producer = Producer(channel)
        for n in range(3):
            producer.publish(
                {"n": n}, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue]
            )
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second

        bound = queue(channel)
        received = [bound.get(no_ack=True).payload for _ in range(3)]

    assert received == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_a_new_pool_gets_a_new_client():
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as before:
            pass
        channel._disconnect_pools()  # what kombu does in a forked child

        with channel.conn_or_acquire() as after:
            assert after is not before
            assert after.connection_pool is channel.pool
            assert after.ping()
