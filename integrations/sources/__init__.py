"""Inbound alert-source parsers: one module per kind of sender.

Each module exposes ``LABEL`` (a human name), a pure ``parse(payload) -> list[AlertEvent]`` and,
where the sender expects a particular answer, ``accepted_response(result)`` and
``error_response(error)``. The contract they produce is in :mod:`oncall.events`; helpers they
share are in :mod:`integrations.sources.common`.

The registry of kinds is not here: it is ``settings.ALERT_SOURCES`` (kind -> module path), read
by :mod:`oncall.sources`, so that adding a source is one module plus one line in the settings.
"""
