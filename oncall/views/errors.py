"""The project's 404 answer (``handler404``): JSON under ``/api/``, in the API's one error shape
as the README documents, so that a client with a mistyped URL reads why; Django's page
elsewhere. (DEBUG shows Django's technical page instead, as for every 404.)"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        message = (
            "There is no API resource at this URL: the resources are listed at /api/v1/ and "
            "documented at /api/docs/."
        )
        return JsonResponse({"error": {"code": "not_found", "message": message}}, status=404)
    return defaults.page_not_found(request, exception)
