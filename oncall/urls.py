from django.contrib import admin
from django.urls import include, path

from oncall.platforms import platforms
from oncall.sources import source_urls
from oncall.views import (
    account,
    changes,
    channels,
    errors,
    health,
    home,
    incident_actions,
    incident_list,
    incident_merge,
    incident_new,
    incident_notes,
    incident_offers,
    incidents,
    insights,
    metrics,
    push,
    schedule_calendars,
    schedule_swaps,
    schedules,
)

urlpatterns = [
    # First: a push is the most frequent request by far, and Django tries the patterns in
    # order (no pattern before these could match a path under push/, nor these one elsewhere).
    path("push/", push.push_by_query, name="push-by-query"),
    path("push/<str:token>", push.push, name="push"),
    path("", home.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", account.account, name="account"),
    path("account/tokens/", account.create_token, name="account-token-create"),
    path(
        "account/tokens/<uuid:public_id>/revoke/",
        account.revoke_token,
        name="account-token-revoke",
    ),
    path("account/calendar/", schedule_calendars.account_calendar, name="account-calendar"),
    path(
        "account/calendar/rotate/",
        schedule_calendars.account_calendar_rotate,
        name="account-calendar-rotate",
    ),
    path("api/", include("oncall.api.urls")),
    path("calendars/<str:token>.ics", schedule_calendars.feed, name="calendar-feed"),
    path("healthz", health.healthz, name="healthz"),
    path("channels/", channels.channel_index, name="channel-list"),
    path("channels/<uuid:public_id>/", channels.channel_detail, name="channel-detail"),
    path(
        "channels/<uuid:public_id>/changes/",
        changes.channel_change_list,
        name="channel-changes",
    ),
    path("metrics", metrics.metrics, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("incidents/", incident_list.incident_index, name="incident-list"),
    path("insights/", insights.insights, name="insights"),
    path("insights/export/<str:table>.csv", insights.export, name="insights-export"),
    path("incidents/new/", incident_new.new_incident, name="incident-new"),
    path("incidents/<uuid:public_id>/", incidents.detail, name="incident-detail"),
    *(
        path(
            f"incidents/<uuid:public_id>/{name}/",
            getattr(incident_actions, name),
            name=f"incident-{name}",
        )
        for name in ("claim", "unclaim", "close", "reopen", "snooze", "wake", "assign")
    ),
    path(
        "incidents/<uuid:public_id>/actions/<str:key>/",
        incident_offers.run,
        name="incident-run-action",
    ),
    path("incidents/<uuid:public_id>/merge/", incident_merge.merge, name="incident-merge"),
    path(
        "incidents/<uuid:public_id>/merge-into/",
        incident_merge.merge_into,
        name="incident-merge-into",
    ),
    path("alerts/<uuid:public_id>/split/", incident_merge.split, name="alert-split"),
    path("incidents/<uuid:public_id>/notes/", incident_notes.add, name="incident-note-add"),
    path(
        "incidents/<uuid:public_id>/notes/<uuid:note_id>/edit/",
        incident_notes.edit,
        name="incident-note-edit",
    ),
    path(
        "incidents/<uuid:public_id>/notes/<uuid:note_id>/delete/",
        incident_notes.delete,
        name="incident-note-delete",
    ),
    path("schedules/", schedules.schedule_index, name="schedule-list"),
    path("schedules/<uuid:public_id>/", schedules.schedule_detail, name="schedule-detail"),
    path(
        "schedules/<uuid:public_id>/calendar/",
        schedule_calendars.schedule_calendar,
        name="schedule-calendar",
    ),
    path(
        "schedules/<uuid:public_id>/calendar/rotate/",
        schedule_calendars.schedule_calendar_rotate,
        name="schedule-calendar-rotate",
    ),
    path("schedules/swaps/", schedule_swaps.hub, name="swap-hub"),
    path("schedules/<uuid:public_id>/swaps/", schedule_swaps.swap_list, name="schedule-swaps"),
    path(
        "schedules/<uuid:public_id>/swaps/<uuid:swap_id>/take/",
        schedule_swaps.take,
        name="schedule-swap-take",
    ),
    path(
        "schedules/<uuid:public_id>/swaps/<uuid:swap_id>/cancel/",
        schedule_swaps.cancel,
        name="schedule-swap-cancel",
    ),
    # URLs alert sources declare (SourceKind.urls), each under push/<kind>/.
    *source_urls(),
    # Each chat platform's pages and callbacks (Feishu: /feishu/..., /account/feishu/).
    *(pattern for platform in platforms() for pattern in platform.url_patterns()),
]

# Unknown URLs under /api/ answer in the API's JSON error shape.
handler404 = errors.not_found
