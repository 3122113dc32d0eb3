"""WSGI entry point (gunicorn oncall.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

application = get_wsgi_application()


def warm_up() -> None:
    """Import now what a process's first request would otherwise import on its way.

    Django imports the URLconf (and with it every view, the admin and the API) on the first
    request it resolves, and Celery its broker's transport (for Redis, the redis client) on the
    first task sent. That is about a second of CPU per process: a Feishu card click that
    happened to be a fresh gunicorn worker's first request took 2.4 s on 2 cores, near
    Feishu's 3 s deadline, while slowing every other worker. gunicorn boots a worker before it
    accepts connections, so the cost moves out of the requests. Nothing here connects to
    anything: a process may fork after this (gunicorn ``--preload``).
    """
    from django.urls import get_resolver

    from oncall.celery import app as celery_app

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf)
    celery_app.connection_for_write().release()  # resolves the transport; connects lazily
    celery_app.amqp  # noqa: B018 (the producer machinery, built on first use)


warm_up()
