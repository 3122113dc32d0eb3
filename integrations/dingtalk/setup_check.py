""" "Check configuration": prove the CorpId, Client ID and Client Secret work by fetching a fresh
access token, and say what DingTalk's answer means when they do not (its own code, in words an
admin can act on), along with what the console knows of the event subscription."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from integrations.dingtalk.client import errors
from integrations.dingtalk.client.open_api import DingTalkClient
from integrations.dingtalk.models import DingTalkApp, DingTalkGroup

FETCHING_A_TOKEN = gettext_lazy("the request for an access token")
REGISTERING_CALLBACK = gettext_lazy("registering the card callback URL")


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def check_configuration(app: DingTalkApp) -> CheckResult:
    """Fetch a fresh access token; record and return the outcome, in the current language."""
    client = app.client()
    client.forget_token()  # a cached token would prove nothing about the current secret
    try:
        client.access_token()
    except errors.DingTalkError as exc:
        outcome = CheckResult(False, errors.explain(exc, doing=FETCHING_A_TOKEN))
    else:
        outcome = _register_card_callback(app, client)
        if outcome.ok:
            notes = [_credentials_work(app), outcome.message, *_subscription_notes(app)]
            outcome = CheckResult(True, " ".join(notes))
    DingTalkApp.objects.filter(pk=app.pk).update(
        checked_at=timezone.now(), check_ok=outcome.ok, check_message=outcome.message
    )
    return outcome


def _register_card_callback(app: DingTalkApp, client: DingTalkClient) -> CheckResult:
    """Card clicks reach the console only once its card callback URL is registered under the
    app's route key: checking the configuration (re)registers it."""
    from integrations.dingtalk.cards.delivery import callback_route_key, card_callback_url

    try:
        client.register_card_callback(card_callback_url(app), callback_route_key(app))
    except errors.DingTalkError as exc:
        return CheckResult(False, errors.explain(exc, doing=REGISTERING_CALLBACK))
    return CheckResult(
        True, _("Card clicks come back to %(url)s.") % {"url": card_callback_url(app)}
    )


def _credentials_work(app: DingTalkApp) -> str:
    return _(
        "Credentials work: DingTalk issued an access token to Client ID %(client)s of "
        "organisation %(corp)s."
    ) % {"client": app.client_id, "corp": app.corp_id}


def _subscription_notes(app: DingTalkApp) -> list[str]:
    """What the console has seen of the event subscription, which a token cannot prove."""
    notes = []
    if app.url_verified_at is None:
        notes.append(
            _(
                "DingTalk has not checked the event subscription request URL yet: paste it "
                "under Event Subscription (事件订阅) and save."
            )
        )
    else:
        when = formats.date_format(timezone.localtime(app.url_verified_at), "Y-m-d H:i")
        notes.append(_("DingTalk checked the request URL on %(when)s.") % {"when": when})
    active = DingTalkGroup.objects.filter(app=app, status=DingTalkGroup.Status.ACTIVE).count()
    if active:
        notes.append(
            ngettext(
                "The cool app is installed in %(count)d group.",
                "The cool app is installed in %(count)d groups.",
                active,
            )
            % {"count": active}
        )
    else:
        notes.append(
            _("No group has the cool app yet: install it in the groups that should get cards.")
        )
    return notes
