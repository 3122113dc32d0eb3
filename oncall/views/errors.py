"""Error answers for machines. The project's 404 (``handler404``): JSON under ``/api/``, in the
API's one error shape as the README documents, so that a client with a mistyped URL reads why;
Django's page elsewhere (DEBUG shows Django's technical page instead, as for every 404). And
``json_methods``, the 405 of machine endpoints in the same shape."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

View = Callable[..., HttpResponse]

API_PREFIX = "/api/"


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        message = (
            "There is no API resource at this URL: the resources are listed at /api/v1/ and "
            "documented at /api/docs/."
        )
        return JsonResponse({"error": {"code": "not_found", "message": message}}, status=404)
    return defaults.page_not_found(request, exception)


def json_methods(*methods: str) -> Callable[[View], View]:
    """Django's ``require_http_methods`` for machine endpoints (callbacks, ``/metrics``): the
    405 comes as JSON in the console's one error shape, with ``Allow``, because Django's empty
    HTML page shows as nothing in a sender's or scraper's log."""
    allowed = ", ".join(methods)

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                message = f"{request.method} is not accepted here; use {allowed}."
                error = {"error": {"code": "method_not_allowed", "message": message}}
                return JsonResponse(error, status=405, headers={"Allow": allowed})
            return view(request, *args, **kwargs)

        return guarded

    return decorate
