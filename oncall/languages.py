"""The language of what the console sends to a chat (cards, answers to chat commands).

A card is one message read by everyone in a chat, so it has one language, chosen in this
order: the incident's channel's ``card_language``, then the sending app's own (each chat
platform keeps one on its app model and passes it in), then the console's ``LANGUAGE_CODE``
(``ONCALL_LANGUAGE``). Platforms ask :func:`card_language` and render inside
``translation.override`` of its answer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The empty choice of a ``card_language`` field: the next level's language (the app's, the
# console's) applies.
INHERIT_LABEL = _("Not set: the next level's language")


def language_choices() -> list[tuple[str, Any]]:
    """The console's languages, for ``card_language`` fields (read when a form is built, so
    that settings made in tests apply), after the empty choice that inherits."""
    return [("", INHERIT_LABEL), *settings.LANGUAGES]


def card_language(incident: Any | None, app_language: str = "") -> str:
    """The language of cards about ``incident`` sent by an app whose own setting is
    ``app_language`` ("" for none): the channel's choice, else the app's, else the console's."""
    channel = incident.channel if incident is not None else None
    return channel_card_language(channel, app_language)


def channel_card_language(channel: Any | None, app_language: str = "") -> str:
    """As :func:`card_language`, for a channel (None: no channel is concerned, e.g. a chat's
    ``help`` command)."""
    chosen = getattr(channel, "card_language", "") or app_language or settings.LANGUAGE_CODE
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


class Said:
    """Words said in the language that is active when they are read: a lazily translated
    template and its named parameters (which may be ``Said`` too). An error raised in one
    place and answered, logged or stored in others carries these, so that the answer speaks
    the request's language while what is stored stays in English (:meth:`in_english`)."""

    def __init__(self, template: Promise | str, **params: Any) -> None:
        self.template, self.params = template, params

    def __str__(self) -> str:
        if not self.params:
            return str(self.template)
        return str(self.template) % {name: str(value) for name, value in self.params.items()}

    def __repr__(self) -> str:
        return f"Said({self.in_english()!r})"

    def in_english(self) -> str:
        with translation.override("en"):
            return str(self)


def in_english(text: Said | str) -> str:
    return text.in_english() if isinstance(text, Said) else text
