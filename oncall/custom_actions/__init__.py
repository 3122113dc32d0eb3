"""Custom incident actions and link integrations: what a channel adds to its incidents, offered
on the incident page, in the API and on cards through ``oncall.offers``.

* :mod:`~oncall.custom_actions.offers`: the provider (``settings.INCIDENT_OFFERS``): a
  channel's enabled actions as buttons and its link integrations as links;
* :mod:`~oncall.custom_actions.templates`: the bodies and link URLs, written in the
  notification templates' language and rendered by their engine (``oncall.notify``), each
  printed value escaped for where it goes (a JSON string, a URL);
* :mod:`~oncall.custom_actions.runs`: one click, one call: a run row per click, unique while in
  flight, the call made by a worker and waited for briefly, the answer on the timeline;
* :mod:`~oncall.custom_actions.calls`: the HTTP call itself, through the outbound guard
  (``oncall.outbound``), signed the Standard Webhooks way (``oncall.webhooks.signing``), its
  outcome in words.
"""
