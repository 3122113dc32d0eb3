"""Feishu / Lark as a chat platform of the console (``integrations.feishu.platform``).

* ``client/``: the Open API client, its typed errors, shared rate limits, callback cryptography;
* ``inbound/``: the callback URL, events, card button clicks and chat commands;
* ``cards/``: the incident card, rendered, sent and kept current in every sent copy;
* ``oauth/``: signing in with Feishu and linking Feishu users to console accounts;
* the Django app around them: ``models``, ``admin``, ``rest_api``, ``pages``, ``urls`` and
  ``views``, ``tasks``, ``chats`` (chat sync), ``escalation_targets``, ``setup_check`` (the
  admin's "check configuration") and ``system_checks`` (Django system checks).
"""

# The platform's name: its key in the registry and the timeline's source for what people do
# from Feishu.
PLATFORM_NAME = "feishu"
