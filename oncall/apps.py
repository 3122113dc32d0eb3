from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "On-call"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oncall.escalation import on_incident_changed
        from oncall.platforms import announce_change
        from oncall.signals import incident_changed

        # Escalation follows every lifecycle change, whichever surface made it.
        incident_changed.connect(on_incident_changed, dispatch_uid="oncall-escalation")
        # Every chat platform refreshes what it sent (``ChatPlatform.incident_changed``).
        incident_changed.connect(announce_change, dispatch_uid="oncall-platforms")
