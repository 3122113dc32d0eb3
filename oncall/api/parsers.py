"""The API's JSON parser: DRF's, reading with the edge's one reader (``oncall.jsonbody``).

JSON nested too deep (DRF's reader failed with ``RecursionError``, a 500), integers too long to
read, ``NaN`` and ``Infinity`` are a 400 ``parse_error`` with the reason. Text the database cannot
store (NUL, lone surrogates) is refused too, naming where it is, rather than replaced as on the
push URLs: a person or script at the API can fix what it sends, and DRF's own text fields already
refuse it; this covers the JSON fields (a route's ``matchers``, a source's severity map) as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from oncall import jsonbody


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            decoded = jsonbody.decode(stream.read())
        except jsonbody.InvalidJSON as invalid:
            raise ParseError(
                gettext("JSON parse error: %(reason)s") % {"reason": invalid.said}
            ) from None
        if decoded.replaced:
            raise ParseError(
                "JSON parse error: text the console cannot store (NUL or an unpaired UTF-16 "
                f"surrogate) at {', '.join(decoded.replaced[: jsonbody.NOTE_MAX_PATHS])}."
            )
        return decoded.value
