"""The relay door: ``POST /push/email/<token>`` (and ``.../mime``), an inbound-mail relay's post
of one mail as JSON, a urlencoded form or a multipart form (SendGrid Inbound Parse always posts
multipart; Mailgun does when the mail has attachments). The core's push URL takes JSON and
urlencoded forms only; this view reads multipart too and then goes the same way as a push.

Attachments (file parts) are not read: their count is what the parser keeps.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from integrations.sources.email.source import EmailSource
from oncall import jsonbody
from oncall.views.push import (
    Body,
    Rejected,
    accept,
    authenticate,
    push_request,
    read_body,
    require_post,
)


@csrf_exempt
def relay(request: HttpRequest, token: str) -> JsonResponse:
    source = None
    try:
        require_post(request)
        source = authenticate(token, kind=EmailSource.kind)
        pushed = push_request(request, source)
        if request.content_type == "multipart/form-data":
            body = _read_multipart(request)
        else:
            body = read_body(request, form=True)
    except Rejected as rejected:
        return rejected.response(source)
    return accept(source, body, pushed._replace(raw_body=body.raw))


def _read_multipart(request: HttpRequest) -> Body:
    """The form's text fields as ``dict[str, str]`` (through the JSON reader, so that text the
    console cannot store is replaced and noted as in any push), plus the count of its files
    when the relay did not give one."""
    limit = settings.ALERT_EMAIL_MAX_BYTES
    size = _declared_length(request)
    if size > limit:
        raise Rejected(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    try:
        fields = dict(request.POST.items())
        files = len(request.FILES)
    except RequestDataTooBig:
        raise Rejected(413, "payload_too_large", "The form's text fields are too large.") from None
    except (MultiPartParserError, TooManyFieldsSent) as error:
        raise Rejected(400, "invalid_form", f"The multipart form cannot be read: {error}") from None
    if files and not fields.get("attachments", "").strip().isdigit():
        fields.setdefault("attachment-count", str(files))
    try:
        decoded = jsonbody.decode(json.dumps(fields))
    except jsonbody.InvalidJSON as invalid:
        raise Rejected(400, "invalid_form", invalid.reason) from None
    note = jsonbody.replacement_note(decoded.replaced)
    return Body(decoded.value, size, [note] if note else [], b"")


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
