"""The sandbox's Open API at the root of the console's host: ``/open-apis/...`` and the long
connection's ``/callback/ws/endpoint``, so that ``http://127.0.0.1:8000`` (an origin, which is
all the official SDK's ``domain`` setting takes) is a Feishu host for a Sandbox app. The same
views serve ``/sandbox/feishu/open-apis/`` (``urls``)."""

from django.urls import include, path

from integrations.feishu_sandbox import long_connection

app_name = "feishu_sandbox_origin"
urlpatterns = [
    path("open-apis/", include("integrations.feishu_sandbox.api_urls")),
    path("callback/ws/endpoint", long_connection.endpoint, name="ws-endpoint"),
]
