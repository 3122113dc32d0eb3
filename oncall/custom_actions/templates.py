"""Action bodies and link URLs, written in the notification templates' language
(``{{ Title }}``, ``{{ Labels.service }}``: ``oncall.notify.context.VARIABLES``) and rendered
by their engine, with its sandbox and budget.

Every value a template prints is escaped for where it lands: inside a JSON string for a JSON
body, percent-encoded in a link (a label cannot add a query parameter, a path or a scheme), as
it is in a plain-text body. A missing variable or label prints nothing, so a link whose label is
missing still opens, as the knowledge base's Link integration promises. The knowledge base's Go
spelling of a plain reference (``{{.Labels.service}}``) is read as the console's.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from oncall.models import Incident
from oncall.notify.choose import variables
from oncall.notify.engine import Medium, TemplateFailure, render, unknown_names
from oncall.notify.preview import sample_incident

MAX_BODY_CHARS = 64 * 1024
MAX_URL_CHARS = 2000
JSON_TYPES = ("application/json", "application/merge-patch+json")
FORM_TYPE = "application/x-www-form-urlencoded"


def _json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _url_part(value: str) -> str:
    return quote(value, safe="")


JSON_BODY = Medium("custom_action_json", "JSON body", _json_string, MAX_BODY_CHARS, "")
FORM_BODY = Medium("custom_action_form", "form body", quote_plus, MAX_BODY_CHARS, "")
TEXT_BODY = Medium("custom_action_text", "text body", str, MAX_BODY_CHARS, "")
LINK_URL = Medium("link_url", "link URL", _url_part, MAX_URL_CHARS, "")

# ``{{.Labels.service}}`` / ``{{ .Title }}``: a Go template's plain reference, nothing else.
_GO_REFERENCE = re.compile(r"\{\{-?\s*\.([A-Za-z_][\w.]*)\s*-?\}\}")


def from_go(text: str) -> str:
    """``text`` with the knowledge base's plain Go references in the console's spelling."""
    return _GO_REFERENCE.sub(lambda match: "{{ " + match.group(1) + " }}", text)


def body_medium(content_type: str) -> Medium:
    kind = content_type.split(";")[0].strip().lower()
    if kind in JSON_TYPES or kind.endswith("+json"):
        return JSON_BODY
    if kind == FORM_TYPE:
        return FORM_BODY
    return TEXT_BODY


def render_body(body: str, content_type: str, incident: Incident) -> str:
    """The body for ``incident``. Raises ``TemplateFailure``."""
    medium = body_medium(content_type)
    return render(from_go(body), variables(incident, medium), medium, cut=False)


def render_link(url_template: str, incident: Incident, data: dict[str, Any] | None = None) -> str:
    """The link for ``incident``; ``data``: its variables (``link_variables``), when the caller
    renders several links. Raises ``TemplateFailure``."""
    data = data if data is not None else link_variables(incident)
    return render(from_go(url_template), data, LINK_URL, cut=False).strip()


def link_variables(incident: Incident) -> dict[str, Any]:
    return variables(incident, LINK_URL)


# --- Checked at save ----------------------------------------------------------------------------


def check_body(body: str, content_type: str) -> str:
    """``body`` rendered on the sample incident; ``ValidationError`` saying what is wrong (the
    syntax, an unknown name, a failure, a JSON body that is not JSON)."""
    medium = body_medium(content_type)
    text = _trial(body, medium)
    if medium is JSON_BODY:
        try:
            json.loads(text)
        except ValueError as error:
            raise ValidationError(
                _("On the sample incident the body is not JSON: %(error)s.") % {"error": error}
            ) from None
    return text


def validate_url_template(value: str) -> None:
    """A Django validator: an http(s) URL template whose scheme and host are written out (no
    value decides where the link goes), with known names, that renders on the sample."""
    text = value.strip()
    if not re.match(r"https?://[^/{}?#]+", text, re.IGNORECASE):
        raise ValidationError(
            _("Start the template with http:// or https:// and a host name, e.g. %(example)s")
            % {"example": "https://grafana.example.com/d/svc?var-service={{ Labels.service }}"}
        )
    rendered = _trial(text, LINK_URL)
    parts = urlsplit(rendered)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("On the sample incident this is not a web address."))


def link_on_sample(url_template: str) -> str:
    """The link the template makes for the sample incident; ``ValidationError`` if none."""
    return _trial(url_template, LINK_URL)


def _trial(body: str, medium: Medium) -> str:
    incident, alerts = sample_incident()
    known = variables(incident, medium, alerts=alerts)
    try:
        unknown = unknown_names(from_go(body), known)
        if unknown:
            raise ValidationError(
                _("Unknown variables or functions: %(names)s.") % {"names": ", ".join(unknown)}
            )
        return render(from_go(body), known, medium, cut=False)
    except TemplateFailure as failure:
        raise ValidationError(
            _("The template fails on the sample incident: %(reason)s") % {"reason": failure}
        ) from None


def preview_body(body: str, content_type: str, incident: Incident | None) -> dict[str, str]:
    """ "Try it": the body rendered on ``incident`` (or the sample), or the error."""
    medium = body_medium(content_type)
    alerts = None
    if incident is None:
        incident, alerts = sample_incident()
    known = variables(incident, medium, alerts=alerts)
    try:
        return {"text": render(from_go(body), known, medium, cut=False), "error": ""}
    except TemplateFailure as failure:
        return {"text": "", "error": str(failure)}
