from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from oncall.api import custom_actions, inhibit_rules, noise, schedule_swaps, schedules, views
from oncall.api.insights import InsightsView
from oncall.platforms import platforms
from oncall.webhooks.api import WebhookEndpointViewSet

router = DefaultRouter()
router.register("channels", views.ChannelViewSet, basename="channel")
router.register("alert-sources", views.AlertSourceViewSet, basename="alert-source")
router.register("routes", views.RouteViewSet, basename="route")
router.register(
    "notification-templates", views.NotificationTemplateViewSet, basename="notification-template"
)
router.register("users", views.UserViewSet, basename="user")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register(
    r"incidents/(?P<incident_id>[^/.]+)/notes", views.IncidentNoteViewSet, basename="incident-note"
)
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("changes", views.ChangeEventViewSet, basename="change")
router.register("tokens", views.ApiTokenViewSet, basename="token")
router.register("escalation-rules", views.EscalationRuleViewSet, basename="escalation-rule")
router.register("schedules", schedules.ScheduleViewSet, basename="schedule")
router.register(
    "schedule-overrides", schedules.ScheduleOverrideViewSet, basename="schedule-override"
)
router.register("shift-swaps", schedule_swaps.ShiftSwapViewSet, basename="shift-swap")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("incident-actions", custom_actions.CustomActionViewSet, basename="incident-action")
router.register("channel-links", custom_actions.LinkIntegrationViewSet, basename="channel-link")
router.register("inhibit-rules", inhibit_rules.InhibitRuleViewSet, basename="inhibit-rule")
# Noise reduction (``oncall.noise``): pipelines, silences, maintenance windows.
router.register("pipeline-rules", noise.PipelineRuleViewSet, basename="pipeline-rule")
router.register("silences", noise.SilenceViewSet, basename="silence")
router.register(
    "maintenance-windows", noise.MaintenanceWindowViewSet, basename="maintenance-window"
)
# Chat platforms add their own resources; the core does not import them by name.
for platform in platforms():
    platform.register_api(router)

calendar_feeds = [
    path("me/", schedule_swaps.MyCalendarFeedView.as_view(), name="my-calendar-feed"),
    path(
        "me/rotate/",
        schedule_swaps.MyCalendarFeedRotateView.as_view(),
        name="my-calendar-feed-rotate",
    ),
    path(
        "schedules/<uuid:public_id>/",
        schedule_swaps.ScheduleCalendarFeedView.as_view(),
        name="schedule-calendar-feed",
    ),
    path(
        "schedules/<uuid:public_id>/rotate/",
        schedule_swaps.ScheduleCalendarFeedRotateView.as_view(),
        name="schedule-calendar-feed-rotate",
    ),
]

urlpatterns = [
    path("v1/insights/", InsightsView.as_view(), name="api-insights"),
    path("v1/", include(router.urls)),
    path("v1/calendar-feeds/", include(calendar_feeds)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
