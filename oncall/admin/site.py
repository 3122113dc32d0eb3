"""The admin site as the console's own: its name on every page, the home page's overview
(``templates/admin/index.html`` with ``oncall.admin.home``), and only the models an admin of
the console works with.

allauth registers its models in the admin, but the console keeps none of them: addresses are
the users' own ``email`` (sign-in by e-mail reads it), Feishu identities are the platform's
linked accounts (``integrations.feishu.oauth`` builds its OAuth client per Feishu app in
memory, with no ``SocialApp`` row, and stores no ``SocialAccount`` or ``SocialToken``). Their
admin pages would only offer admins tables that stay empty, or rows the console never reads.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

UNUSED_ALLAUTH_MODELS = (EmailAddress, EmailConfirmation, SocialAccount, SocialApp, SocialToken)


def brand(site: admin.AdminSite) -> None:
    site.site_header = _("On-call console")
    site.site_title = _("On-call console admin")
    site.index_title = _("What needs an admin now")


def hide_unused_allauth_models(site: admin.AdminSite) -> None:
    for model in UNUSED_ALLAUTH_MODELS:
        if site.is_registered(model):
            site.unregister(model)


brand(admin.site)
hide_unused_allauth_models(admin.site)
