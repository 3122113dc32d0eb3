"""Nightingale (n9e) / Flashcat as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from integrations.sources.common import is_web_url
from integrations.sources.n9e import parser
from oncall.events import AlertEvent
from oncall.sources import (
    DeclaredOption,
    OptionType,
    PushRequest,
    SetupGuide,
    Snippet,
    SourceKind,
)


class NightingaleSource(SourceKind):
    kind = "n9e"
    label = _("Nightingale / Flashcat")
    sender = _("Nightingale (n9e) or Flashcat v5 and later: a callback URL or notification media")
    identity = _("the event's hash (rule and series)")
    recovery = _("is_recovered is true")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        return parser.parse(payload, console_url=push.options.get("console_url") or "")

    def default_options(self) -> dict[str, Any]:
        return {"console_url": ""}

    def clean_options(self, options: Any) -> dict[str, Any]:
        options = options or {}
        if not isinstance(options, dict) or set(options) - {"console_url"}:
            raise ValidationError(_('The only option is {"console_url": "https://…"}.'))
        url = options.get("console_url") or ""
        if url and not is_web_url(url):
            raise ValidationError(_("console_url must be an http(s) URL."))
        return {"console_url": url.strip()}

    def options_help(self) -> str:
        return str(
            _(
                '{"console_url": "https://n9e.example.org"}: Nightingale\'s address; each alert '
                "then links to its event's page."
            )
        )

    def declared_options(self) -> Sequence[DeclaredOption]:
        return (
            DeclaredOption(
                "console_url",
                _("Nightingale's address"),
                OptionType.TEXT,
                _("https://n9e.example.org: each alert then links to its event's page."),
            ),
        )

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "Nightingale v8 and later: under Alerting > Media types add a media of type "
                    "Webhook (or Flashduty) whose URL is {url}, use it in a notification rule and "
                    "pick that rule in your alert rules."
                ).format(url=push_url),
                _(
                    "Nightingale v6 to v8 beta: under System settings > Notification settings > "
                    "Callback URL, add {url}; or set it as the callback URL of chosen alert rules "
                    "(batch update)."
                ).format(url=push_url),
                _(
                    "Nightingale v5: add the webhook to etc/server.conf (below) and restart the "
                    "server."
                ),
                _("Tick 'notify recovered' on your rules so that recoveries resolve the alerts."),
            ],
            snippets=[
                Snippet(
                    title=_("etc/server.conf (Nightingale v5)"),
                    language="toml",
                    text=(
                        "[Alerting.Webhook]\n"
                        "Enable = true\n"
                        f'Url = "{push_url}"\n'
                        'Timeout = "5s"\n'
                        'Headers = ["Content-Type", "application/json"]\n'
                    ),
                )
            ],
        )
