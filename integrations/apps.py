from django.apps import AppConfig
from django.core import checks


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.feishu.system_checks import sandbox_in_production

        checks.register(sandbox_in_production, checks.Tags.security, deploy=False)
