from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from oncall.views import health, incidents, push

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("api/", include("oncall.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("incidents/<uuid:public_id>/", incidents.detail, name="incident-detail"),
    path("push/<str:token>", push.push, name="push"),
    path("push/pagerduty/v2/enqueue", push.pagerduty_enqueue, name="pagerduty-enqueue"),
    path("feishu/", include("integrations.feishu.urls")),
]

if settings.FEISHU_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/feishu/", include("integrations.feishu.sandbox.urls")))
