from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class DingTalkConfig(AppConfig):
    name = "integrations.dingtalk"
    label = "dingtalk"
    verbose_name = _("DingTalk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.dingtalk import presence
        from integrations.dingtalk.models import DingTalkApp
        from integrations.dingtalk.system_checks import (
            receipts_outlive_the_replay_window,
            sandbox_in_production,
            sandbox_outside_the_allow_list,
        )

        checks.register(sandbox_in_production, checks.Tags.security, deploy=False)
        checks.register(sandbox_outside_the_allow_list, deploy=False)
        checks.register(receipts_outlive_the_replay_window)
        from integrations.dingtalk import war_rooms

        presence.HAS_APPS.connect(DingTalkApp, dispatch_uid="dingtalk-apps")
        # Whether an app has a group template is counted too (``war_rooms.apps_in_use``), so the
        # war-room offer costs no query on a console without DingTalk war rooms.
        war_rooms.APPS_IN_USE.connect(DingTalkApp, dispatch_uid="dingtalk-war-room-apps")
