"""What every chat platform (``feishu/``, ``dingtalk/``, and the next ones) would otherwise write
again: the platform toolkit. It knows no platform: a platform subclasses or instantiates its
pieces with its own endpoints, models and field names (import-linter holds both directions).

* ``counted`` — a per-console answer ("does any app use X?") counted once, kept in the shared
  cache and dropped on every save and delete of the model it counts.
"""
