from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class FeishuConfig(AppConfig):
    name = "integrations.feishu"
    # Feishu's tables and migration history were made when it lived in the shared
    # "integrations" app: the label stays, so existing databases keep both as they are.
    label = "integrations"
    verbose_name = _("Feishu / Lark")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.feishu.system_checks import (
            receipts_outlive_the_replay_window,
            sandbox_in_production,
            sandbox_outside_the_allow_list,
        )

        checks.register(sandbox_in_production, checks.Tags.security, deploy=False)
        checks.register(sandbox_outside_the_allow_list, deploy=False)
        checks.register(receipts_outlive_the_replay_window)
        self._count_war_rooms_on_app_changes()

    def _count_war_rooms_on_app_changes(self) -> None:
        """Whether any app has war rooms on is kept counted (``war_rooms.apps_in_use``), so that the
        war-room offer costs no query on the pages and cards of a console without them."""
        from integrations.feishu import war_rooms
        from integrations.feishu.models import FeishuApp

        war_rooms.APPS_IN_USE.connect(FeishuApp, dispatch_uid="feishu-war-rooms-app")
