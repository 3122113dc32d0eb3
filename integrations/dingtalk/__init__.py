"""DingTalk (钉钉) as a chat platform of the console (``integrations.dingtalk.platform``), a
sibling of ``integrations.feishu`` with the same inner shape.

* ``client/``: the Open API client, its typed errors and the event subscription's encryption
  and signature;
* ``inbound/``: the event subscription request URL (HTTP push) and the group events;
* the Django app around them: ``models``, ``admin``, ``rest_api``, ``urls`` and ``views``,
  ``tasks``, ``setup_check`` (the admin's "check configuration") and ``system_checks``.

Still to come (README, "DingTalk"): cards, account linking, group chats as escalation targets,
war rooms, Stream mode and the API budget's enforcement.
"""

# The platform's name: its key in the registry and the timeline's source for what people do
# from DingTalk.
PLATFORM_NAME = "dingtalk"
