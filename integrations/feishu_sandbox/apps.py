from django.apps import AppConfig


class FeishuSandboxConfig(AppConfig):
    name = "integrations.feishu_sandbox"
    label = "feishu_sandbox"
    verbose_name = "Feishu sandbox"
    default_auto_field = "django.db.models.BigAutoField"
