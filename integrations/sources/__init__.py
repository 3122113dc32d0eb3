"""Inbound alert sources: one folder per kind of sender.

Each ``<kind>/`` folder holds ``parser.py`` (a pure ``parse(payload) -> list[AlertEvent]``),
``source.py`` (its :class:`oncall.sources.SourceKind`: kind, label, the answers the sender
expects, any URL of its own), ``fixtures/`` (one captured JSON payload per real event shape,
read by the tests under ``tests/sources/``) and a ``README.md`` naming the sender's own
documentation. Helpers the parsers share are in :mod:`integrations.sources.common`.

The registry of kinds is not here: it is ``settings.ALERT_SOURCES`` (kind -> source class),
read by :mod:`oncall.sources`. Sources import the core, never a chat platform.
"""
