from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from integrations.feishu.account_views import linked_accounts
from oncall.views import health, home, incidents, push

urlpatterns = [
    path("", home.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/feishu/", linked_accounts, name="account-feishu"),
    path("api/", include("oncall.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("incidents/<uuid:public_id>/", incidents.detail, name="incident-detail"),
    path("push/<str:token>", push.push, name="push"),
    path("push/pagerduty/v2/enqueue", push.pagerduty_enqueue, name="pagerduty-enqueue"),
    path("feishu/", include("integrations.feishu.urls")),
]

if settings.FEISHU_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/feishu/", include("integrations.feishu.sandbox.urls")))
