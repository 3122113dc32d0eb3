from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HeartbeatConfig(AppConfig):
    """The heartbeat source keeps one row per source: when it was last pinged, and whether it
    is missing (``models.Heartbeat``)."""

    name = "integrations.sources.heartbeat"
    label = "heartbeat"
    verbose_name = _("Heartbeats")
    default_auto_field = "django.db.models.BigAutoField"
