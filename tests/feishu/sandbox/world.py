"""The console's side of a sandbox tenant: its ``FeishuApp`` for a sandbox app, and console users
linked to sandbox people.

Plain functions rather than fixtures, so that the benchmarks, which seed their databases outside
pytest, build the same world as the tests (a copy of this had already lost the Encrypt Key).
Import it after Django is set up: it imports models.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from integrations.feishu.models import FeishuApp, LinkedAccount, Platform
from integrations.feishu_sandbox.models import SandboxApp, SandboxUser

# The live server and the sandbox listen on loopback, which the outbound guard refuses unless
# allowed (as ``dev.py up`` and the benchmarks allow it).
LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]


def console_app_for(sandbox_app: SandboxApp, **overrides: Any) -> FeishuApp:
    """The integration an admin would create for ``sandbox_app``: platform Sandbox and all of
    the app's credentials; ``overrides`` sets any other field (``name`` defaults to the app's)."""
    fields: dict[str, Any] = {
        "name": sandbox_app.name,
        "platform": Platform.SANDBOX,
        "app_id": sandbox_app.app_id,
        "app_secret": sandbox_app.app_secret,
        "verification_token": sandbox_app.verification_token,
        "encrypt_key": sandbox_app.encrypt_key,
    }
    return FeishuApp.objects.create(**(fields | overrides))


def link(
    user: AbstractBaseUser, console_app: FeishuApp, sandbox_app: SandboxApp, person: SandboxUser
) -> LinkedAccount:
    """Link ``user`` to ``person``, through the open_id ``sandbox_app`` gives them."""
    return LinkedAccount.objects.create(
        user=user, app=console_app, open_id=sandbox_app.open_id_of(person), name=person.name
    )
