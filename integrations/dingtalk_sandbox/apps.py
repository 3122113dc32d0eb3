from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DingTalkSandboxConfig(AppConfig):
    name = "integrations.dingtalk_sandbox"
    label = "dingtalk_sandbox"
    verbose_name = _("DingTalk sandbox")
    default_auto_field = "django.db.models.BigAutoField"
