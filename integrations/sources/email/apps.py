from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailSourceConfig(AppConfig):
    name = "integrations.sources.email"
    # "email" alone would read as Django's own e-mail machinery in the admin and migrations.
    label = "source_email"
    verbose_name = _("E-mail alerts")
    default_auto_field = "django.db.models.BigAutoField"
