"""What "link by email" (``oauth.bulk_linking``) did, as the admin's messages."""

from __future__ import annotations

from django.contrib import messages
from django.utils.translation import gettext as _

from integrations.feishu.oauth import bulk_linking
from oncall.timeline import display_name

# Names listed in one message before "and N more": the admin's messages are one line each.
REPORT_NAMES = 20


def _names(users: list) -> str:
    shown = ", ".join(display_name(u) for u in users[:REPORT_NAMES])
    rest = len(users) - REPORT_NAMES
    return _("%(names)s and %(rest)s more") % {"names": shown, "rest": rest} if rest > 0 else shown


def bulk_link_report(result: bulk_linking.BulkLinkResult) -> list[tuple[int, str]]:
    """The admin's messages for one app's one-click linking, most useful first."""
    if result.considered == 0:
        return [(messages.INFO, _("every active console user is already linked."))]
    report = []
    if result.linked:
        report.append(
            (
                messages.SUCCESS,
                _("linked %(count)s: %(names)s.")
                % {"count": len(result.linked), "names": _names(result.linked)},
            )
        )
    if result.not_found:
        report.append(
            (
                messages.WARNING,
                _(
                    "not found in Feishu by email: %(names)s. Console accounts have no mobile "
                    "number, so the lookup is by email only; check the email, or that the person "
                    "is in the app's availability range (可见范围)."
                )
                % {"names": _names(result.not_found)},
            )
        )
    if result.taken:
        taken = "; ".join(
            _("%(user)s (already linked to %(other)s)")
            % {"user": display_name(t.user), "other": display_name(t.linked_to)}
            for t in result.taken
        )
        report.append(
            (
                messages.WARNING,
                _("not linked, the Feishu account is taken: %(taken)s.") % {"taken": taken},
            )
        )
    if result.shared_email:
        report.append(
            (
                messages.WARNING,
                _("not linked, these console users share an email: %(names)s.")
                % {"names": _names(result.shared_email)},
            )
        )
    if result.without_email:
        report.append(
            (
                messages.WARNING,
                _("not looked up, no email on the console account: %(names)s.")
                % {"names": _names(result.without_email)},
            )
        )
    if result.staff:
        report.append(
            (
                messages.INFO,
                _(
                    "not linked by email, staff and superusers: %(names)s. They link their own "
                    "Feishu account while signed in to the console (Account page)."
                )
                % {"names": _names(result.staff)},
            )
        )
    return report
