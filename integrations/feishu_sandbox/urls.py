"""URLs of the Feishu sandbox, mounted at ``/sandbox/feishu/`` when FEISHU_SANDBOX_ENABLED.

``open-apis/...`` mirrors Feishu's Open API and OAuth paths (the sandbox is both the
``open.feishu.cn`` and the ``accounts.feishu.cn`` of a Sandbox app); everything else is the
sandbox's own pages: its developer console, directory, and the chat client that shows cards.

The same Open API is served at the root of the console's host (``origin_urls``), the origin
that the official SDK's ``domain`` setting accepts (scheme, host and port, no path).
"""

from django.urls import include, path

from integrations.feishu_sandbox import long_connection

app_name = "feishu_sandbox"
urlpatterns = [
    path("open-apis/", include("integrations.feishu_sandbox.api_urls")),
    path("callback/ws/endpoint", long_connection.endpoint, name="ws-endpoint"),
    path("", include("integrations.feishu_sandbox.page_urls")),
]
