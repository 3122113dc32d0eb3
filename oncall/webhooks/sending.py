"""One signed request to a receiver a user chose, as outbound webhooks and custom actions send
it: through the SSRF guard (``oncall.outbound``: the checked address, no redirects), with the
Standard Webhooks headers (``signing``), 5 s to connect and 15 s in all, the answer read only up
to a cap; and, when no answer came, what happened in words a person reads on a page or a
timeline. It never raises for what the receiver or the network does."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError

from oncall import outbound
from oncall.webhooks import signing

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0


@dataclass(frozen=True)
class Reply:
    """The receiver's answer (``status_code``, the first bytes of its body, its headers), or
    why there was none: ``refused`` (the guard's reason: an address the console does not call)
    or ``error`` (the network's failure, in words)."""

    status_code: int | None
    duration_ms: int
    text: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    refused: str = ""
    error: str = ""


def send_signed(
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    secrets: Sequence[str],
    message_id: str,
    answer_bytes: int,
) -> Reply:
    """Send ``body`` to ``url`` with ``headers`` and the signature of every secret of
    ``secrets`` (the current one, and a rotated-out one during its overlap)."""
    signed = {**headers, **signing.sign(list(secrets), message_id, body)}
    started = time.monotonic()
    try:
        with outbound.session() as session:
            response = session.request(
                method,
                url,
                data=body,
                headers=signed,
                timeout=(CONNECT_TIMEOUT, TOTAL_TIMEOUT),
                stream=True,
            )
            with response:
                text = read_capped(response, started + TOTAL_TIMEOUT, answer_bytes)
    except outbound.OutboundRefused as refused:
        return Reply(None, _since(started), refused=str(refused))
    except (requests.RequestException, TimeoutError) as error:
        return Reply(None, _since(started), error=in_words(error))
    return Reply(response.status_code, _since(started), text, response.headers)


def read_capped(response: requests.Response, deadline: float, limit: int) -> str:
    """The first ``limit`` bytes of the answer, read before ``deadline``: a receiver can neither
    make the console download a gigabyte nor keep it waiting past the budget."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"no complete answer within {TOTAL_TIMEOUT:g} s")
    return b"".join(chunks)[:limit].decode(errors="replace")


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def in_words(error: BaseException) -> str:
    """A network failure as a person reads it (requests nests the cause several levels)."""
    if isinstance(error, TimeoutError):
        return str(error)
    if isinstance(error, requests.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(error, requests.ReadTimeout):
        return f"no answer within {TOTAL_TIMEOUT:g} s"
    if isinstance(error, requests.exceptions.SSLError):
        return "the TLS handshake failed (is the certificate valid for this host?)"
    causes = _causes(error)
    if any(isinstance(cause, NameResolutionError) for cause in causes):
        return "the host name could not be resolved"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes) or "refused" in str(
        error
    ):
        return "the connection was refused"
    if isinstance(error, requests.ConnectionError):
        return "the connection failed or was closed without an answer"
    return f"the call failed ({type(error).__name__})"


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack: list[Any] = [error]
    while stack and len(seen) < 20:
        current = stack.pop()
        if current is None or current in seen:
            continue
        seen.append(current)
        stack.extend([current.__cause__, current.__context__, *getattr(current, "args", ())])
        stack.append(getattr(current, "reason", None))
        stack = [item for item in stack if isinstance(item, BaseException) or item is None]
    return seen
