"""The registry of inbound alert sources: kind -> parser module, from ``settings.ALERT_SOURCES``.

``oncall`` never imports a source module by name: it resolves the module the setting names,
lazily, so adding a source is one module plus one line in the settings.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

from django.conf import settings
from django.utils.module_loading import import_module


class UnknownSourceKind(LookupError):
    pass


@cache
def source_module(kind: str) -> ModuleType:
    try:
        path = settings.ALERT_SOURCES[kind]
    except KeyError:
        raise UnknownSourceKind(kind) from None
    return import_module(path)


def source_kind_choices() -> list[tuple[str, str]]:
    return [(kind, source_module(kind).LABEL) for kind in settings.ALERT_SOURCES]
