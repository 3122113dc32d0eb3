"""Notification templates: what a card or message says, written by admins in a sandbox.

* :mod:`oncall.notify.engine`: Jinja2's sandboxed environment with a time and size budget and
  escaping per medium (every value printed is escaped for where it goes);
* :mod:`oncall.notify.context`: the incident as templates see it, under the knowledge base's
  variable names (``Title``, ``Labels``, ``AlertCnt``, ...);
* :mod:`oncall.notify.functions`: the knowledge base's functions (``joinAlertLabels``, ``in``,
  ``jsonGet``, ``date``, ...);
* :mod:`oncall.notify.media`: the media the installed chat platforms declare;
* :mod:`oncall.notify.choose`: which template an incident's notifications use, rendering with
  the built-in default when a custom template fails, and recording why.
"""
