"""The project package and the core domain app (channels, alerts, incidents, lifecycle)."""

from oncall.celery import app as celery_app

__all__ = ["celery_app"]
