"""DingTalk (钉钉) as a chat platform of the console (``integrations.dingtalk.platform``), a
sibling of ``integrations.feishu`` with the same inner shape.

* ``client/``: the Open API client, its typed errors and the event subscription's encryption
  and signature;
* ``inbound/``: the event subscription request URL (HTTP push) and the group events;
* ``stream/``: Stream mode, the same events over a connection the console opens
  (``manage.py dingtalk_connect``, the official ``dingtalk-stream`` SDK);
* ``oauth/``: signing in with DingTalk at the app's homepage URLs, the linked accounts it keeps,
  "My account"'s panel and the admin's one-click linking by mobile;
* the Django app around them: ``models``, ``admin``, ``rest_api``, ``urls`` and ``views``,
  ``tasks``, ``setup_check`` (the admin's "check configuration") and ``system_checks``.

Still to come (README, "DingTalk"): cards, group chats as escalation targets, war rooms and the
API budget's enforcement.
"""

# The platform's name: its key in the registry and the timeline's source for what people do
# from DingTalk.
PLATFORM_NAME = "dingtalk"
