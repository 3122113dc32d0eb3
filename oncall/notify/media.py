"""The media templates are written for: what the installed chat platforms declare
(``ChatPlatform.template_media``), in the order of ``settings.CHAT_PLATFORMS``."""

from __future__ import annotations

from oncall.notify.engine import Medium
from oncall.platforms import platforms


class UnknownMedium(LookupError):
    pass


def media() -> list[Medium]:
    found: dict[str, Medium] = {}
    for platform in platforms():
        for medium in platform.template_media():
            found.setdefault(medium.name, medium)
    return list(found.values())


def medium_named(name: str) -> Medium:
    for medium in media():
        if medium.name == name:
            return medium
    raise UnknownMedium(name)
