"""Reading a raw e-mail (RFC 5322 / MIME bytes) into the few things an alert needs.

Pure and total: :func:`read_mime` never raises. Mail arrives from anything that can send it,
malformed more often than JSON does (a multipart without its closing boundary, base64 cut short,
a charset nobody knows, a header the standard library's strict parser chokes on). Such a message
is read as far as it goes and each problem is said in ``Mail.notes``; the raw bytes are kept by
the caller, so nothing is lost for a human to read later.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

_BLANKS = re.compile(r"[ \t\f\v\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Mail:
    """What the parser uses of one message, whichever door it came through."""

    subject: str
    sender: str = ""  # the From address, lower-cased ("" when there is none)
    text: str = ""  # the body as plain text (the text part, else the HTML part converted)
    message_id: str = ""
    date: datetime | None = None
    attachments: int = 0  # parts that are attachments: dropped, counted
    notes: tuple[str, ...] = field(default=())


def read_mime(raw: bytes) -> Mail:
    """The :class:`Mail` in ``raw``; a message Python cannot read at all becomes a Mail whose
    subject and body are recovered from the bytes, with a note saying why."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        return _from_message(message)
    except Exception as error:
        # The standard library's header parser has raised on hostile input more than once
        # (e.g. CPython issues 99576, 102988): the mail is still accepted, read the crude way.
        return _unreadable(raw, f"{type(error).__name__}: {error}")


def _from_message(message: EmailMessage) -> Mail:
    notes: list[str] = []
    body = _Body()
    for part in message.walk():
        body.take(part, notes)
    defects = _defect_names(message)
    if defects:
        notes.append(
            f"The message is malformed ({', '.join(defects)}): it was read as far as it goes; "
            "the raw message is kept."
        )
    text = body.text if body.text.strip() else html_to_text(body.html)
    return Mail(
        subject=_header(message, "subject", notes),
        sender=parseaddr(_header(message, "from", notes))[1].lower(),
        text=tidy_text(text),
        message_id=_header(message, "message-id", notes).strip("<> "),
        date=_date(_header(message, "date", notes)),
        attachments=body.attachments,
        notes=tuple(notes),
    )


class _Body:
    """The first plain-text part, the first HTML part, and the number of attachments."""

    def __init__(self) -> None:
        self.text = ""
        self.html = ""
        self.attachments = 0

    def take(self, part: Message, notes: list[str]) -> None:
        if part.is_multipart():
            return
        if part.get_content_disposition() == "attachment" or part.get_filename():
            self.attachments += 1
            return
        content_type = part.get_content_type()
        if content_type == "text/plain" and not self.text:
            self.text = _decoded(part, notes)
        elif content_type == "text/html" and not self.html:
            self.html = _decoded(part, notes)
        elif not content_type.startswith(("text/", "multipart/", "message/")):
            self.attachments += 1  # an inline image or a file without a disposition


def _decoded(part: Message, notes: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        notes.append(f"Unknown charset {charset!r}: the body was read as UTF-8.")
        charset = "utf-8"
    return payload.decode(charset, errors="replace")


def _header(message: Message, name: str, notes: list[str]) -> str:
    try:
        value = message.get(name)
    except Exception as error:
        notes.append(f"The {name.title()} header could not be read ({type(error).__name__}).")
        return ""
    return storable(" ".join(str(value).split())) if value is not None else ""


def storable(text: str) -> str:
    """``text`` as the database can store it: an encoded word may decode to NUL (``=00``),
    and bytes the parser kept escaped come back as lone surrogates; both are replaced."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates other than the escaped bytes'
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    # A date without a zone ("-0000" or none) says nothing about when: ignored.
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _defect_names(message: Message) -> list[str]:
    names: dict[str, None] = {}
    for part in message.walk():
        for defect in getattr(part, "defects", ()):
            names[type(defect).__name__] = None
    return list(names)


_HEADER_LINE = re.compile(rb"^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*)$")


def _unreadable(raw: bytes, reason: str) -> Mail:
    """What can be had from bytes the parser refused: the Subject and From lines as they are,
    and everything after the first blank line as the body."""
    head, _, rest = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.split(b"\n"):
        match = _HEADER_LINE.match(line)
        if match:
            name = match.group(1).decode("ascii").lower()
            headers.setdefault(name, match.group(2).decode("utf-8", errors="replace").strip())
    return Mail(
        subject=storable(headers.get("subject", "")),
        sender=storable(parseaddr(headers.get("from", ""))[1].lower()),
        text=tidy_text(rest.decode("utf-8", errors="replace")),
        notes=(
            f"The message could not be parsed ({reason}): read as plain text; the raw "
            "message is kept.",
        ),
    )


# --- HTML to text ----------------------------------------------------------------------------

_BLOCKS = frozenset(
    (
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt"),
        *("footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li"),
        *("main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot"),
        *("tr", "ul"),
    )
)
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _TextExtractor(HTMLParser):
    """The text a reader sees: skipped elements dropped, a line break per block, a tab
    between table cells, entities decoded (``convert_charrefs``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.chunks.append("\n")
        elif tag in {"td", "th"}:
            self.chunks.append("\t")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            # Source line breaks inside HTML text are spaces to a reader.
            self.chunks.append(data.replace("\r", " ").replace("\n", " "))


def html_to_text(html: str) -> str:
    """The readable text of an HTML body (no third-party converter: the standard library's
    tolerant parser, which never raises on bad markup)."""
    if not html:
        return ""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return "".join(extractor.chunks)


def tidy_text(text: str) -> str:
    """Line endings unified, runs of blanks folded, trailing blanks and extra empty lines
    dropped; what the database cannot store replaced (:func:`storable`)."""
    text = storable(text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
