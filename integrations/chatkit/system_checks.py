"""What the platforms' Django system checks share."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from oncall import outbound


def host_the_guard_refuses(base_url: str) -> str | None:
    """The host of a sandbox at ``base_url`` when the outbound (SSRF) guard will refuse it: an
    inward address (this machine, a private network) that is not allow-listed. Only literal
    addresses and ``localhost`` are judged (a system check does not query DNS)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        address: outbound.IPAddress | None = ipaddress.ip_address("127.0.0.1")
    else:
        address = outbound.literal_address(host)
    if (
        address is None
        or outbound.inward_reason(address) is None
        or outbound.is_allow_listed(address, outbound.allowed_networks())
    ):
        return None
    return host
