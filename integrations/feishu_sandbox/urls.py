"""URLs of the Feishu sandbox, mounted at ``/sandbox/feishu/`` when FEISHU_SANDBOX_ENABLED.

``open-apis/...`` mirrors Feishu's Open API and OAuth paths (the sandbox is both the
``open.feishu.cn`` and the ``accounts.feishu.cn`` of a Sandbox app); everything else is the
sandbox's own pages: its developer console, directory, and the chat client that shows cards.
"""

from django.urls import include, path

app_name = "feishu_sandbox"
urlpatterns = [
    path("open-apis/", include("integrations.feishu_sandbox.api_urls")),
    path("", include("integrations.feishu_sandbox.page_urls")),
]
