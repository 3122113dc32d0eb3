from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeishuSandboxConfig(AppConfig):
    name = "integrations.feishu_sandbox"
    label = "feishu_sandbox"
    verbose_name = _("Feishu sandbox")
    default_auto_field = "django.db.models.BigAutoField"
