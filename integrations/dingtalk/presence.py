"""Whether the console has a DingTalk app at all, answered without a query once counted.

Every escalation step asks DingTalk to notify a level, and every incident change asks it to
refresh its cards. A console that uses Feishu alone would pay a few queries each time to learn
that DingTalk has no app, no group and no sent card; with no app none of those can exist. The
answer is kept in the shared cache and dropped on every save and delete of an app, at once and
again when its transaction commits (``chatkit.counted``, as Feishu's war-room app count),
so no process keeps an answer another process changed. A miss counts again in the database.
"""

from __future__ import annotations

from oncall.counted import CountedInCache

APPS_KEY = "dingtalk:has-apps"


def _any_app() -> bool:
    from integrations.dingtalk.models import DingTalkApp

    return DingTalkApp.objects.exists()


# Any app counts, enabled or not: a disabled one may have sent cards.
HAS_APPS = CountedInCache(APPS_KEY, _any_app)
has_apps = HAS_APPS.get
count_apps = HAS_APPS.count_again
apps_changed = HAS_APPS.changed
forget = HAS_APPS.forget
