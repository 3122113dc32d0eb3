"""DingTalk as a chat platform of the console (``oncall.platforms.ChatPlatform``): the one object
the core reaches DingTalk through, listed in ``settings.CHAT_PLATFORMS``.

This first slice contributes the app's pages and event subscription URL, its REST resources and
the receipts' sweep; everything else answers as ``PlatformBase`` does (nobody is notified
through DingTalk yet: cards, linked accounts and group targets come in later slices).

Everything is imported when asked for: the registry builds this class while Django starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery.schedules import crontab
from django.apps import apps
from django.urls import include, path
from django.utils.translation import gettext_lazy

from integrations.dingtalk import PLATFORM_NAME
from oncall.platforms import AppStatus, PlatformBase, app_statuses

if TYPE_CHECKING:
    from django.urls import URLPattern, URLResolver
    from rest_framework.routers import BaseRouter

TASKS = "integrations.dingtalk.tasks"


class DingTalkPlatform(PlatformBase):
    name = PLATFORM_NAME
    label = gettext_lazy("DingTalk")

    def url_patterns(self) -> list[URLPattern | URLResolver]:
        patterns: list[URLPattern | URLResolver] = [
            path("dingtalk/", include("integrations.dingtalk.urls")),
        ]
        if apps.is_installed("integrations.dingtalk_sandbox"):
            patterns.append(
                path("sandbox/dingtalk/", include("integrations.dingtalk_sandbox.urls"))
            )
        return patterns

    def register_api(self, router: BaseRouter) -> None:
        from integrations.dingtalk import rest_api

        rest_api.register(router)

    def admin_apps(self, user: Any) -> list[AppStatus]:
        from integrations.dingtalk.models import DingTalkApp

        return app_statuses(user, DingTalkApp.objects.order_by("name", "pk"))

    def periodic_tasks(self) -> dict[str, dict[str, Any]]:
        return {
            "purge-dingtalk-event-receipts": {
                "task": f"{TASKS}.purge_event_receipts",
                "schedule": crontab(minute=37, hour=3),
            },
        }
