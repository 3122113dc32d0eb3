from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from oncall.api import schedules, views
from oncall.api.insights import InsightsView
from oncall.platforms import platforms

router = DefaultRouter()
router.register("channels", views.ChannelViewSet, basename="channel")
router.register("alert-sources", views.AlertSourceViewSet, basename="alert-source")
router.register("routes", views.RouteViewSet, basename="route")
router.register("users", views.UserViewSet, basename="user")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register(
    r"incidents/(?P<incident_id>[^/.]+)/notes", views.IncidentNoteViewSet, basename="incident-note"
)
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("tokens", views.ApiTokenViewSet, basename="token")
router.register("escalation-rules", views.EscalationRuleViewSet, basename="escalation-rule")
router.register("schedules", schedules.ScheduleViewSet, basename="schedule")
router.register(
    "schedule-overrides", schedules.ScheduleOverrideViewSet, basename="schedule-override"
)
# Chat platforms add their own resources; the core does not import them by name.
for platform in platforms():
    platform.register_api(router)

urlpatterns = [
    path("v1/insights/", InsightsView.as_view(), name="api-insights"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
