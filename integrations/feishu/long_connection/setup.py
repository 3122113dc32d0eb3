"""What the setup guide says differently for an app in long-connection mode: its checklist
steps, the notes beside the request URLs, and a line of "Check configuration"."""

from __future__ import annotations

from django.utils.translation import gettext as _

from integrations.feishu.long_connection.heartbeat import connection_status
from integrations.feishu.models import FeishuApp, InboundMode


def long_connection_steps() -> list[str]:
    return [
        _(
            "Run <code>python manage.py feishu_connect</code> next to the console (one per "
            "deployment; <code>python3 dev.py up</code> starts it) and wait until this page "
            "says the long connection is up: Feishu saves the next setting only while a "
            "client is connected."
        ),
        _(
            "Events &amp; Callbacks → Event Configuration: choose <b>Receive events through "
            "persistent connection</b> (使用长连接接收事件); add the events "
            "<code>im.message.receive_v1</code> and <code>im.chat.disbanded_v1</code> (and, to "
            "follow groups at once, <code>im.chat.member.bot.added_v1</code> / "
            "<code>im.chat.member.bot.deleted_v1</code>). No request URL is needed."
        ),
        _(
            "Events &amp; Callbacks → Callback Configuration: choose <b>Receive callbacks "
            "through persistent connection</b> (使用长连接接收回调) and add the new-format card "
            "callback <code>card.action.trigger</code>. Old-format card callbacks (the "
            "message card request URL, <code>card.action.trigger_v1</code>) do not travel "
            "over the long connection: leave that URL empty."
        ),
    ]


def checklist_for(app: FeishuApp, steps: list[str]) -> list[str]:
    """The guide's ``steps``; in long-connection mode its request-URL steps are replaced by the
    long connection's, where the first of them stood."""
    if app.inbound_mode != InboundMode.LONG_CONNECTION:
        return steps
    positions = [i for i, step in enumerate(steps) if "request URL" in step]
    if not positions:
        return [*steps, *long_connection_steps()]
    kept = [step for i, step in enumerate(steps) if i not in positions]
    at = positions[0]
    return [*kept[:at], *long_connection_steps(), *kept[at:]]


def url_note(app: FeishuApp) -> str:
    """Beside the event and card request URLs."""
    if app.inbound_mode != InboundMode.LONG_CONNECTION:
        return ""
    return _("Not needed: this app receives events and card callbacks over its long connection.")


def check_note(app: FeishuApp) -> str:
    """The long connection's state, for "Check configuration"'s message."""
    if app.inbound_mode != InboundMode.LONG_CONNECTION:
        return ""
    return _("Long connection: %(state)s") % {"state": connection_status(app).message}
