"""DingTalk (钉钉) as a chat platform of the console (``integrations.dingtalk.platform``), a
sibling of ``integrations.feishu`` with the same inner shape.

* ``client/``: the Open API client, its typed errors and the event subscription's encryption
  and signature;
* ``inbound/``: the event subscription request URL (HTTP push) and the group events;
* ``cards/``: incident cards (render, the template medium, delivery and keeping copies
  current); ``inbound/card_callback``: their clicks; ``escalation_targets``: a rule's app and
  its levels' groups; ``budget``: the edition's API budget, enforced; ``timeline_words``: why a
  card did not go out ("app not linked", with the app's sign-in), in the reader's language;
* ``stream/``: Stream mode, the same events and card clicks over a connection the console opens
  (``manage.py dingtalk_connect``, the official ``dingtalk-stream`` SDK);
* ``oauth/``: signing in with DingTalk at the app's homepage URLs, the linked accounts it keeps
  (``DingTalkAccount``: the one record of a person's DingTalk userid, which cards address and
  clicks are traced back to; admins may also enter one by userid), "My account"'s panel and the
  admin's one-click linking by mobile;
* ``war_rooms``: a scene group from the app's group template for one incident (offered through
  ``oncall.offers``), its card posted and kept live; ``receivers``: each person's and group's
  messages a minute, paced;
* the Django app around them: ``models``, ``admin`` (and ``admin_cards``, ``admin_war_rooms``),
  ``rest_api``, ``urls`` and ``views``, ``tasks``, ``setup_check`` (the admin's "check
  configuration") and ``system_checks``.
"""

# The platform's name: its key in the registry and the timeline's source for what people do
# from DingTalk.
PLATFORM_NAME = "dingtalk"
