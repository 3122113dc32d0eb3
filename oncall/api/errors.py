"""One JSON error shape for the whole API:

{"error": {"code": "invalid", "message": "...", "fields": {"name": ["This field is required."]}}}

``code`` is a stable English identifier for programs; ``message`` and the field messages are in
the request's language (``Accept-Language``, through Django's ``LocaleMiddleware``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import ProtectedError
from django.http import Http404
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from oncall import lifecycle


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, lifecycle.TransitionRefused):
        exc = Conflict(exc.message, code=exc.code)
    elif isinstance(exc, lifecycle.InvalidRequest):
        exc = exceptions.ValidationError({"detail": exc.message}, code="invalid")
    elif isinstance(exc, lifecycle.NotYours):
        exc = exceptions.PermissionDenied(exc.message, code=exc.code)
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        # ObjectDoesNotExist: deleted between the look-up and the action (a note, an incident).
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, ProtectedError):
        exc = _protected(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": _error_body(exc, response.data)}
    return response


def _protected(exc: ProtectedError) -> Conflict:
    """A delete refused by a protecting foreign key (a channel's incidents): what still holds
    on to the row, counted by kind."""
    counts = Counter(str(row._meta.verbose_name_plural) for row in exc.protected_objects)
    held = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
    return Conflict(
        gettext(
            "This cannot be deleted while %(held)s belong to it: deleting them would lose "
            "their history."
        )
        % {"held": held},
        code="protected",
    )


def _error_body(exc: Exception, data: Any) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        detail = fields.pop("detail", None) if isinstance(fields, dict) else None
        message = _first_message(detail) or gettext("The request is not valid; see fields.")
        body: dict[str, Any] = {"code": "invalid", "message": message}
        if fields:
            body["fields"] = fields
        return body
    detail = getattr(exc, "detail", None)
    code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
    return {"code": str(code), "message": str(detail if detail is not None else exc)}


def _first_message(detail: Any) -> str | None:
    if detail is None:
        return None
    if isinstance(detail, list):
        return str(detail[0]) if detail else None
    return str(detail)
