"""Any JSON webhook, read by a mapping the admin writes (``mapping.py``, ``parser.py``; the
language and a worked example are in README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from integrations.sources.custom_webhook import mapping, parser
from integrations.sources.custom_webhook.forms import MappingForm
from oncall.events import AlertEvent
from oncall.sources import OptionsForm, PushRequest, SetupGuide, SourceKind, curl_snippet

EXAMPLE_BODY = {
    "origin": "edge-probe",
    "results": [
        {
            "check_id": "chk-41",
            "check": {"name": "Checkout API latency"},
            "priority": "P1",
            "state": "FAILING",
            "detail": "p95 latency 2.4 s",
            "tags": {"team": "payments"},
        }
    ],
}


class CustomWebhookSource(SourceKind):
    kind = "custom_webhook"
    label = _("Custom webhook (any JSON, by mapping)")
    sender = _("any tool that POSTs JSON; a mapping on the source's page says where each field is")
    identity = _("the mapping's alert key template, or derived from the title and labels")
    recovery = _("the mapping's status renders one of its recovery values")
    # No fixed table: each source has its own (``severity_map`` in its mapping).
    severity_table = ()

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload, mapping.DEFAULT_OPTIONS)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        return parser.parse(payload, push.options or mapping.DEFAULT_OPTIONS)

    # Any JSON may be mapped, so no payload is this kind's by its fields: it claims none, and a
    # refused push of another kind is never told it looks like a custom webhook's.
    def recognises(self, payload: Any) -> bool:
        return False

    def default_options(self) -> dict[str, Any]:
        return mapping.cleaned({})

    def clean_options(self, options: Any) -> dict[str, Any]:
        found = mapping.problems({} if options is None else options)
        if found:
            raise ValidationError([str(problem) for problem in found])
        return mapping.cleaned(options or {})

    def options_help(self) -> str:
        return str(
            _(
                "The mapping: templates ({{ alert.name }}) and expressions (body.alerts) over "
                "the pushed JSON, in Jinja2's sandbox. Try it on a sample below before saving."
            )
        )

    def options_form(self) -> type[OptionsForm]:
        return MappingForm

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            [
                str(
                    _("In the sender, add a webhook that POSTs JSON to the push URL: {url}")
                ).format(url=push_url),
                str(
                    _(
                        "Paste one body the sender really posts into “Try on a sample” below, "
                        "fill in the mapping until the events look right, then save."
                    )
                ),
                str(
                    _(
                        "A body the mapping cannot read is refused with a 400 naming the "
                        "mapping's field; it is listed under “Recent failures” with its payload."
                    )
                ),
            ],
            [curl_snippet(push_url, json.dumps(EXAMPLE_BODY, ensure_ascii=False))],
        )


def example_options() -> dict[str, Any]:
    """The worked example's mapping (README.md, the fixtures' ``_options.json``)."""
    path = Path(__file__).parent / "fixtures" / "_options.json"
    return json.loads(path.read_text(encoding="utf-8"))
