from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = _("On-call")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from oncall.insights.sql import register_sqlite_functions
        from oncall.platforms import announce_change
        from oncall.signals import incident_changed

        # Every chat platform refreshes what it sent (``ChatPlatform.incident_changed``).
        # Escalation is not a receiver: the lifecycle and the merge plan it in their change.
        incident_changed.connect(announce_change, dispatch_uid="oncall-platforms")
        # Whether any webhook endpoint listens, kept in the cache (``webhooks.outbox``).
        from oncall.models import WebhookEndpoint
        from oncall.webhooks.outbox import ANY_ENABLED

        ANY_ENABLED.connect(WebhookEndpoint, dispatch_uid="oncall-webhook-endpoints")
        # Such answers are asked of the cache once per request or task.
        from oncall.counted import connect_units

        connect_units()
        # Insights' percentile on SQLite, which has none (PostgreSQL's is built in).
        connection_created.connect(register_sqlite_functions, dispatch_uid="oncall-insights-sql")
        if settings.STATEMENT_COUNT_DIR:  # the benchmarks' statements per event
            from oncall.statement_count import count_statements

            connection_created.connect(count_statements, dispatch_uid="oncall-statement-count")
