"""The one guard for every outbound URL a user sets (a chat app's API base today, outbound
webhooks later): the console must not be turned into a way to reach what only it can reach
(this machine, the private network, the cloud's metadata service: SSRF).

Two checks, one rule:

* **at save**, :func:`validate_base_url` (a Django validator) refuses a URL whose scheme,
  credentials, query or host is wrong, or whose host resolves, now, to any inward address;
* **at send**, :func:`session` is a ``requests.Session`` whose transport resolves each host once,
  checks *every* address, and connects to the checked address itself (no second DNS lookup, so a
  name that changes its answer between the check and the connection -- DNS rebinding -- gains
  nothing), keeping the real name for the Host header, TLS SNI and certificate verification. It
  never follows a redirect: a 3xx is an error (a redirect could carry a POST body with a secret
  to another host), and it ignores the environment's proxies and ``.netrc`` (a proxy would
  resolve the name itself, past the check; ``.netrc`` would add credentials).

An address is *inward* when it is loopback, unspecified, private (RFC 1918, unique local),
shared (100.64.0.0/10, where Alibaba Cloud's metadata 100.100.100.200 lives), link-local
(169.254.0.0/16, where most clouds' metadata lives), site-local, multicast, reserved or not
globally routable, a known metadata address, or an IPv6 address embedding an inward IPv4 one
(IPv4-mapped, IPv4-compatible, 6to4, NAT64). Hosts are parsed the way the C resolver parses them,
so ``127.1``, ``2130706433``, ``0x7f000001``, ``017700000001`` and ``0`` are the addresses they
are, not names.

The operator's way out is ``settings.OUTBOUND_ALLOWED_NETWORKS``: addresses in these networks are
allowed although inward (an egress proxy on the private network, the Feishu sandbox on loopback
in development and tests), and may be reached over plain http (known metadata addresses stay
refused). Otherwise http is allowed only with ``DEBUG``. The allow-list holds networks, not
names: a name is only as good as its DNS.

A name that does not resolve at save time is refused (a typo is caught at once; the check would
otherwise prove nothing). At send time it is a connection error like any other (DNS may be down
for a minute), which callers retry.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services on addresses the categories below may not all catch: Azure's wireserver is
# on a public address. The others are named so that the refusal says what they are.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure IMDS, OpenStack, Oracle, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wireserver (a public address)
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# One label of a DNS name: letters, digits, hyphens (and underscores, which some internal
# zones use), not starting or ending with a hyphen.
HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundRefused(Exception):
    """The console will not send this request: the message says why, in words an admin can act
    on. Deliberately not an ``OSError`` (nor a ``requests`` exception, which is one): urllib3
    and requests would retry it or re-wrap it as a connection error, and it is not transient."""


# --- Resolution: the one place names meet DNS -------------------------------------------------


def getaddrinfo(host: str, port: int) -> list[tuple[Any, ...]]:
    """The system resolver (tests replace this function to answer without a network). IPv6
    answers only where this machine has IPv6, as urllib3 itself asks."""
    return socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one in any form the C resolver accepts: standard
    IPv4 / IPv6 (brackets and zone allowed), and ``inet_aton``'s legacy IPv4 forms (``127.1``,
    decimal ``2130706433``, hex ``0x7f000001``, octal, ``0``), which ``getaddrinfo`` and
    therefore every HTTP library accept as addresses too."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except (OSError, UnicodeError, ValueError):
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` stands for, literal or resolved, in the resolver's order.
    Raises ``socket.gaierror`` (or ``OSError``) when a name does not resolve."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    addresses: list[IPAddress] = []
    for *_ignored, sockaddr in getaddrinfo(host, port):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    return addresses


# --- Judging an address -------------------------------------------------------------------------


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), if any."""
    if address.version == 4:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 or any(address in prefix for prefix in NAT64_PREFIXES):
        return low32
    return None


def inward_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be called (a phrase such as "a loopback address"), or None."""
    if address.is_loopback:
        return _("a loopback address (this machine)")
    if address.is_unspecified:
        return _("an unspecified address (this machine)")
    if is_metadata(address):
        return _("a cloud metadata address")
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return inward_reason(embedded)
    if address.is_link_local:
        return _("a link-local address")
    if address.version == 4 and address in SHARED_ADDRESS_SPACE:
        return _("a shared (carrier-grade NAT) address")
    if address.is_multicast:
        return _("a multicast address")
    if address.is_private or (address.version == 6 and address.is_site_local):
        return _("a private network address")
    if address.is_reserved or not address.is_global:
        return _("a reserved address")
    return None


def is_metadata(address: IPAddress) -> bool:
    return address in METADATA_ADDRESSES or embedded_ipv4(address) in METADATA_ADDRESSES


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``settings.OUTBOUND_ALLOWED_NETWORKS``, read when called (tests and operators change it)."""
    return [
        ipaddress.ip_network(network, strict=False)
        for network in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ())
    ]


def is_allow_listed(address: IPAddress, networks: Sequence[Any]) -> bool:
    candidates = [address, embedded_ipv4(address)]
    return any(
        candidate is not None and candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in networks
    )


def check_addresses(host: str, addresses: Sequence[IPAddress], *, plain_http: bool) -> None:
    """Raise ``OutboundRefused`` unless every address may be called (over plain http only with
    DEBUG or when every address is allow-listed)."""
    networks = allowed_networks()
    listed = [is_allow_listed(address, networks) for address in addresses]
    for address, allowed in zip(addresses, listed, strict=True):
        # A metadata service stays refused inside an allowed network (100.64.0.0/10 for a
        # carrier-grade NAT holds Alibaba Cloud's): nothing the console calls lives there.
        if is_metadata(address):
            reason: str | None = _("a cloud metadata address")
        else:
            reason = None if allowed else inward_reason(address)
        if reason:
            raise OutboundRefused(
                _(
                    "%(host)s points at %(reason)s; the console does not call such addresses. "
                    "An operator can allow a network with OUTBOUND_ALLOWED_NETWORKS."
                )
                % {"host": host, "reason": reason}
            )
    if plain_http and not settings.DEBUG and not all(listed):
        raise OutboundRefused(
            _(
                "%(host)s is reached over plain http, which is allowed only in DEBUG or for a "
                "network in OUTBOUND_ALLOWED_NETWORKS: use https."
            )
            % {"host": host}
        )


def checked_addresses(host: str, port: int, *, plain_http: bool) -> list[IPAddress]:
    """Resolve ``host`` once and check every address: the addresses to connect to.
    Raises ``OutboundRefused``, or ``socket.gaierror`` / ``OSError`` when it does not resolve."""
    addresses = resolve(host, port)
    check_addresses(host, addresses, plain_http=plain_http)
    return addresses


def check_host_syntax(host: str) -> None:
    """A host is an IP address (in a form the resolver accepts) or a DNS name; anything else
    (spaces, control characters, empty labels) never reaches the resolver."""
    if host and not any(char.isspace() or not char.isprintable() for char in host):
        if literal_address(host) is not None:
            return
        try:
            labels = host.encode("idna").decode("ascii").lower().removesuffix(".").split(".")
        except UnicodeError:
            labels = []
        if labels and len(host) <= 253 and all(HOST_LABEL.match(label) for label in labels):
            return
    raise OutboundRefused(_("%(host)s is not a host name.") % {"host": host})


# --- At save --------------------------------------------------------------------------------


def validate_base_url(value: str) -> None:
    """A Django validator for a user-set base URL: absolute https (http only in DEBUG or for an
    allow-listed network), no credentials, query or fragment, and a host that resolves now to
    outward addresses only."""
    _validate(value, query_allowed=False)


def validate_url(value: str) -> None:
    """A Django validator for a user-set URL the console calls as it is (an outbound webhook):
    as :func:`validate_base_url`, but a query string is allowed (receivers route on it)."""
    _validate(value, query_allowed=True)


def _validate(value: str, *, query_allowed: bool) -> None:
    try:
        parts = urlsplit(value)
    except ValueError:  # "https://[::1" and other broken brackets
        parts = urlsplit("")
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValidationError(_("Enter an absolute https:// URL, e.g. https://proxy.example.com"))
    # An empty "?" or "#" counts too: paths are appended to the base, and would land after it.
    if "#" in value or parts.username is not None or ("?" in value and not query_allowed):
        raise ValidationError(
            _("A URL takes no credentials or fragment.")
            if query_allowed
            else _("A base URL takes no credentials, query or fragment.")
        )
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValidationError(_("The URL's port is not a number from 1 to 65535.")) from None
    try:
        check_host_syntax(parts.hostname)
        checked_addresses(parts.hostname, port, plain_http=parts.scheme == "http")
    except OutboundRefused as exc:
        raise ValidationError(str(exc)) from None
    except OSError:  # socket.gaierror and friends: the name does not resolve
        raise ValidationError(
            _("%(host)s could not be resolved: check the name (the console looks it up now).")
            % {"host": parts.hostname}
        ) from None


# --- At send: the transport -----------------------------------------------------------------


class _CheckedConnect:
    """``_new_conn`` of a urllib3 connection that resolves its host once, checks every address
    and connects to a checked one. ``self.host`` keeps the real name, which urllib3 uses for
    the Host header, TLS SNI and certificate verification."""

    plain_http = True

    def _new_conn(self) -> socket.socket:
        conn: Any = self
        try:
            addresses = checked_addresses(conn._dns_host, conn.port, plain_http=self.plain_http)
        except OSError as exc:
            raise NameResolutionError(conn.host, conn, exc) from exc  # type: ignore[arg-type]
        try:
            sock = _connect_first(
                addresses, conn.port, conn.timeout, conn.source_address, conn.socket_options
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", conn, conn.host, conn.port)
        return sock


def _connect_first(
    addresses: Sequence[IPAddress],
    port: int,
    timeout: Any,
    source_address: tuple[str, int] | None,
    socket_options: Sequence[tuple[int, int, Any]] | None,
) -> socket.socket:
    """A socket connected to the first address that answers (like ``create_connection``, but
    to addresses already checked: no lookup happens here)."""
    error: OSError | None = None
    for address in addresses:
        family = socket.AF_INET if address.version == 4 else socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect((str(address), port))
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError("no address to connect to")


class _GuardedHTTPConnection(_CheckedConnect, HTTPConnection):
    plain_http = True


class _GuardedHTTPSConnection(_CheckedConnect, HTTPSConnection):
    plain_http = False


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose pools connect only to checked addresses. The check lives in the
    connection layer, below ``send``, so that ``responses`` (which patches ``HTTPAdapter.send``)
    still answers the tests that mock the HTTP seam; those tests open no socket."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # A new dict: urllib3's default is a module-level one shared by every pool manager.
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Through a proxy the proxy resolves the name, past the check.
        raise OutboundRefused(_("Outbound calls to user-set URLs do not go through a proxy."))

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        if parts.username or parts.password:
            raise OutboundRefused(_("The URL takes no credentials."))
        check_host_syntax(parts.hostname or "")
        return super().send(request, *args, **kwargs)


class GuardedSession(requests.Session):
    """A session for user-set URLs: guarded transport, no redirects, no environment proxies or
    ``.netrc`` credentials (``trust_env`` off)."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        adapter = GuardedAdapter()
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        response = super().send(request, **kwargs)
        if 300 <= response.status_code < 400:
            response.close()
            raise OutboundRefused(
                _(
                    "%(host)s answered with a redirect (HTTP %(status)s); the console does not "
                    "follow redirects: set the final URL instead."
                )
                % {"host": urlsplit(request.url or "").hostname, "status": response.status_code}
            )
        return response


def session() -> GuardedSession:
    """A new guarded session (one per caller or per thread: sessions are not thread-safe)."""
    return GuardedSession()
