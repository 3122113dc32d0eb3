"""The signed-in person's own page (``/account/``): who they are, the personal API tokens
they use with the REST API (create, revoke), their on-call shifts of the next four weeks
across schedules, and what chat platforms add (their linked
accounts, ``oncall.sections``).

A new token's key is shown once, in the answer to the POST that made it (never stored, never
put in the session or a redirect), with ``Cache-Control: no-store`` so the browser keeps no
copy. Revoking asks first and is a POST. Everyone sees and changes only their own tokens.
"""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oncall.models import ApiToken
from oncall.schedules.display import shifts_ahead
from oncall.sections import account_sections

TOKEN_NAME_MAX_CHARS = ApiToken._meta.get_field("name").max_length


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Token name"),
        max_length=TOKEN_NAME_MAX_CHARS,
        help_text=gettext_lazy("What it is for, e.g. “terraform” or “my laptop”."),
    )


def _page(request: HttpRequest, *, form: TokenForm | None = None, status: int = 200):
    context = {
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at", "-pk"),
        "form": form or TokenForm(),
        "sections": account_sections(request),
        "my_shifts": shifts_ahead(request.user, timezone.now()),
    }
    return render(request, "oncall/account.html", context, status=status)


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return _page(request)


@never_cache
@login_required
@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    token, key = ApiToken.issue(request.user, form.cleaned_data["name"])
    return render(request, "oncall/token_created.html", {"token": token, "key": key})


@login_required
@require_http_methods(["GET", "POST"])
def revoke_token(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """GET asks "Revoke this token?"; its form's POST deletes the token."""
    token = get_object_or_404(ApiToken, user=request.user, public_id=public_id)
    if request.method == "GET":
        return render(request, "oncall/token_revoke.html", {"token": token})
    token.delete()
    messages.success(
        request,
        _("The token “%(name)s” is revoked: requests that use it are refused from now on.")
        % {"name": token.name},
    )
    return redirect("account")
