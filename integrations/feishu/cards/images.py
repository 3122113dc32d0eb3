"""Alert images on cards: ``transferImage`` uploads an image to Feishu for the app that sends
the card, and the card shows it by its ``image_key``.

A Feishu card cannot show an image from a web address, only one uploaded with the image API
(``POST /open-apis/im/v1/images``, at most 10 MB of JPG, JPEG, PNG, WEBP, GIF, BMP, ICO, TIFF
or HEIC). The source URL comes from an alert, so it is fetched through the one outbound guard
(``oncall.outbound``: no inward address, no redirect), with short timeouts and a hard size cap
read as a stream, and its first bytes must be one of those formats. The key is kept per app
and URL (``UploadedImage``): a card refreshed twenty times uploads once, and never more than
``MAX_UPLOADS_PER_CARD`` images.

A template renders within a time budget and must not wait for the network, so a render is
done in two passes (``CardImages``): the first one only looks keys up (in this render's
memory, then the database) and notes the URLs it could not find; those are then uploaded, at
most ``MAX_UPLOADS_PER_CARD`` of them and within ``UPLOAD_BUDGET_SECONDS``, and the card is
rendered again. Any failure (a refused URL, too big, not an image, Feishu's error) gives ``""``
and a log line (the URL's host, never a token or the URL's query), never a failed card.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
import urllib3
from django.core.cache import cache
from django.db import IntegrityError, transaction

from integrations.feishu.client import errors
from oncall import outbound
from oncall.notify.engine import Verbatim

if TYPE_CHECKING:
    from integrations.feishu.models import FeishuApp

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# A card is held while its images upload: a few, quickly, or none.
MAX_UPLOADS_PER_CARD = 3
UPLOAD_BUDGET_SECONDS = 8.0
FETCH_TIMEOUT = (2.0, 4.0)  # connect, read (between bytes)
FETCH_SECONDS = 5.0  # the whole download
# A failed image is not tried again for this long: every card refresh would wait for it.
FAILED_SECONDS = 600
CHUNK_BYTES = 64 * 1024
# What Feishu's image keys look like (img_v2_..., img_v3_...; the sandbox's img_...): the
# only text printed unescaped into a card, so it is checked before it is trusted.
IMAGE_KEY = re.compile(r"^img_[A-Za-z0-9_-]{1,190}$")

# The first bytes of each format the image API takes.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis")


class ImageRefused(Exception):
    """Why an image is not uploaded, in words for the log (no secret, no query string)."""


def image_format(head: bytes) -> str | None:
    """The format of an image from its first bytes, or None when it is none the API takes."""
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "heic"
    return None


def fetch(url: str, *, session: outbound.GuardedSession | None = None) -> bytes:
    """The image at ``url`` (http or https), read through the outbound guard, at most
    ``MAX_IMAGE_BYTES``. Raises ``ImageRefused``."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ImageRefused("not an http(s) URL")
    own = session is None
    session = session or outbound.session()
    try:
        with session.get(url, stream=True, timeout=FETCH_TIMEOUT) as response:
            if response.status_code != 200:
                raise ImageRefused(f"HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_IMAGE_BYTES:
                raise ImageRefused("larger than 10 MB")
            body = _read_capped(response)
    except outbound.OutboundRefused as exc:
        raise ImageRefused(str(exc)) from None
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        # read1 reads urllib3's response directly: its errors are not wrapped by requests.
        raise ImageRefused(f"could not be fetched ({type(exc).__name__})") from None
    finally:
        if own:
            session.close()
    if image_format(body[:32]) is None:
        raise ImageRefused("not an image in a format Feishu takes")
    return body


def _read_capped(response: requests.Response) -> bytes:
    """The body, stopping as soon as it passes the cap or the time allowed. ``read1`` returns
    what has arrived, so a server sending a byte now and then is stopped by the deadline (a
    read of a whole chunk would wait for all of it, one read timeout per byte)."""
    deadline = time.monotonic() + FETCH_SECONDS
    parts: list[bytes] = []
    size = 0
    while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
        size += len(chunk)
        if size > MAX_IMAGE_BYTES:
            raise ImageRefused("larger than 10 MB")
        if time.monotonic() > deadline:
            raise ImageRefused("took too long to download")
        parts.append(chunk)
    return b"".join(parts)


def source_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class CardImages:
    """The images of one card for one app: ``lookup`` is the ``transferImage`` of a render,
    ``upload_wanted`` uploads what a render asked for and did not find."""

    def __init__(self, app: FeishuApp | None, *, upload: bool = True) -> None:
        self.app = app
        # False: only keys uploaded before (a click's answer, which Feishu waits for).
        self.upload = upload
        self.keys: dict[str, str] = {}  # source URL -> key ("" when it failed this time)
        self.wanted: list[str] = []
        # Whether a render asked for any image: if not, the card is the same for every app.
        self.asked = False

    @property
    def shown(self) -> frozenset[str]:
        """The keys this card may show (a template's literal ``![..](img_..)`` with another
        key is shown as text)."""
        return frozenset(key for key in self.keys.values() if key)

    def lookup(self, src: str) -> str:
        src = str(src or "").strip()
        self.asked = self.asked or bool(src)
        if self.app is None or not src.lower().startswith(("http://", "https://")):
            return ""
        if src not in self.keys:
            from integrations.feishu.models import UploadedImage

            stored = (
                UploadedImage.objects.filter(app=self.app, source_hash=source_hash(src))
                .values_list("image_key", flat=True)
                .first()
            )
            if stored is None:
                if src not in self.wanted:
                    self.wanted.append(src)
                return ""
            self.keys[src] = stored
        key = self.keys[src]
        return Verbatim(key) if key else ""

    def upload_wanted(self) -> bool:
        """Upload the images a render asked for (a few, within the time budget); True when
        any key is new, so the card is worth rendering again."""
        if self.app is None or not self.wanted or not self.upload:
            return False
        deadline = time.monotonic() + UPLOAD_BUDGET_SECONDS
        client = None
        uploaded = False
        # The cap is the card's, not one render's: a refresh finds the images an earlier
        # render uploaded and must not upload a few more each time (a card with many images
        # would grow with every change).
        room = max(0, MAX_UPLOADS_PER_CARD - sum(1 for key in self.keys.values() if key))
        for src in self.wanted[:room]:
            if time.monotonic() > deadline:
                break
            if cache.get(self._failed_key(src)):
                continue
            if client is None:
                # A short wait for the console's own rate limits (a window's edge), never long.
                client = self.app.client(max_wait=1.0, timeout=(2.0, 5.0))
            self.keys[src] = key = self._upload(client, src)
            if not key:
                cache.set(self._failed_key(src), True, timeout=FAILED_SECONDS)
            uploaded = uploaded or bool(key)
        for src in self.wanted:
            self.keys.setdefault(src, "")
        self.wanted = []
        if client is not None:
            client.session.close()
        return uploaded

    def _failed_key(self, src: str) -> str:
        return f"feishu:image-failed:{self.app.pk if self.app else 0}:{source_hash(src)}"

    def _upload(self, client: object, src: str) -> str:
        from integrations.feishu.models import UploadedImage

        host = urlsplit(src).hostname or "?"
        try:
            body = fetch(src)
            key = client.upload_image(body)  # type: ignore[attr-defined]
        except ImageRefused as exc:
            logger.info("app %s: image from %s not uploaded: %s", self.app.pk, host, exc)
            return ""
        except errors.FeishuError as exc:
            # The client's errors carry Feishu's code and message, never the token.
            logger.warning("app %s: image from %s refused by Feishu: %s", self.app.pk, host, exc)
            return ""
        if not IMAGE_KEY.match(key):
            logger.warning("app %s: Feishu answered an unexpected image key", self.app.pk)
            return ""
        try:
            with transaction.atomic():
                UploadedImage.objects.create(
                    app=self.app, source_hash=source_hash(src), source_url=src, image_key=key
                )
        except IntegrityError:
            pass  # another render uploaded it meanwhile: both keys work
        return key
