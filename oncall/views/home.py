"""Where a signed-in person lands."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Admins land in the admin; responders on their linked accounts until the responder
    pages (incident list) exist."""
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("account-feishu")
