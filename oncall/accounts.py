"""allauth hooks for console accounts."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.utils import filter_users_by_email
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.http import HttpRequest

from oncall.permissions import may_sign_in_by_email


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Console accounts are created by admins: the public sign-up form is closed."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """allauth's own sign-in by a matching e-mail address (off unless
    ``SOCIALACCOUNT_EMAIL_AUTHENTICATION`` is turned on) never reaches staff or superusers,
    whichever provider asks: the rule of the chat platforms' linking, held for every path."""

    def can_authenticate_by_email(self, login: SocialLogin, email: str) -> bool:
        owners = filter_users_by_email(email)
        if any(not may_sign_in_by_email(user) for user in owners):
            return False
        return super().can_authenticate_by_email(login, email)
