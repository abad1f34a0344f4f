"""Server-side request forgery guard for the requests the server makes to URLs others chose: webhooks, and
the sign-in providers merchants configure (an OpenID Connect issuer and the endpoints it names).

A URL is checked when it is registered and again at send time, where ``PinnedNetworkBackend``
resolves the host once, checks every address it resolves to, and connects to the checked address (so a DNS
answer cannot change between the check and the connection). TLS server name and the ``Host`` header keep
the URL's name.

Numeric hosts are parsed the way the C resolver does (``inet_aton``), so decimal (``2130706433``), octal
(``0177.0.0.1``), hex (``0x7f000001``) and short (``127.1``) spellings are recognised; IPv4 addresses embedded
in IPv6 (mapped, 6to4, Teredo, NAT64) are checked as the IPv4 address they carry.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from server.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
FORBIDDEN_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT (also Alibaba Cloud metadata 100.100.100.200)
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
        "fd00:ec2::254/128",  # AWS metadata over IPv6 (also inside fc00::/7)
    )
)
METADATA_HOSTNAMES = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class UnsafeWebhookTarget(Invalid):
    """The URL points (or resolves) somewhere the server must never send a request."""

    code = "unsafe_webhook_target"


def parse_host_address(host: str) -> IPAddress | None:
    """The address a numeric host denotes in any spelling, or None when ``host`` is a name."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host.replace(".", "").isalnum() and host[:1].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return embedded.is_loopback
    return address.is_loopback


def is_forbidden(address: IPAddress) -> bool:
    """True for every address that is not a public unicast one (loopback, private, link-local, multicast,
    unspecified, reserved, CGNAT, metadata, documentation…)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_forbidden(embedded)
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or any(address in network for network in FORBIDDEN_NETWORKS if network.version == address.version)
    )


def check_address(address: IPAddress, *, allow_local: bool) -> None:
    if allow_local and is_loopback(address):
        return
    if is_forbidden(address):
        raise UnsafeWebhookTarget(f"the server may not call {address} (a non-public address)")


def _check_hostname(host: str, *, allow_local: bool) -> None:
    """Names refused before any lookup: localhost (unless allowed) and cloud metadata services."""
    if parse_host_address(host) is not None:
        return
    name = host.rstrip(".").lower()
    local = name == "localhost" or name.endswith(".localhost")
    if (local and not allow_local) or name in METADATA_HOSTNAMES or name.endswith(".internal"):
        raise UnsafeWebhookTarget(f"the server may not call {host!r}")


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


RESOLVE_TIMEOUT_S = 3.0
"""A name that does not resolve quickly is refused rather than holding a request (or a worker) for long."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (numeric spellings included, without a DNS query)."""
    literal = parse_host_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except TimeoutError as exc:
        raise OSError(f"no answer from DNS within {RESOLVE_TIMEOUT_S:g} s") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _check_all(addresses: list[IPAddress], host: str, *, allow_local: bool) -> list[IPAddress]:
    """Refuse if ANY address is forbidden: a name answering with a public and a private address is a trick."""
    if not addresses:
        raise UnsafeWebhookTarget(f"{host!r} resolves to no address")
    for address in addresses:
        check_address(address, allow_local=allow_local)
    return addresses


async def checked_addresses(host: str, port: int, *, allow_local: bool) -> list[IPAddress]:
    """Resolve ``host`` once (send time) and return its addresses if every one of them is allowed."""
    _check_hostname(host, allow_local=allow_local)
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise UnsafeWebhookTarget(f"cannot resolve {host!r}: {exc}") from exc
    return _check_all(addresses, host, allow_local=allow_local)


async def check_outgoing_url(url: str, *, allow_local: bool) -> str:
    """Validate a URL (a webhook, an issuer) for registration; returns it unchanged. A name that does not
    resolve now is accepted (DNS may be transient): the send-time check still guards the connection."""
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeWebhookTarget("URLs must start with https:// or http://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhookTarget("URLs may not contain credentials")
    try:
        port = _port(parts.scheme, parts.port)
    except ValueError as exc:
        raise UnsafeWebhookTarget("the URL has an invalid port") from exc
    host = parts.hostname
    if not host:
        raise UnsafeWebhookTarget("the URL has no host")
    _check_hostname(host, allow_local=allow_local)
    try:
        addresses = await resolve(host, port)
    except OSError:
        return url
    _check_all(addresses, host, allow_local=allow_local)
    return url


class PinnedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses that passed the guard."""

    def __init__(self, *, allow_local: bool) -> None:
        self._allow_local = allow_local
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, allow_local=self._allow_local)
        return await self._inner.connect_tcp(
            str(addresses[0]), port, timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeWebhookTarget("requests are never sent over a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose every connection goes through ``PinnedNetworkBackend``, for clients (such as
    authlib's) that take an httpx transport. httpx 0.28 has no public option for the network backend, so the
    connection pool the base class made is replaced by one that uses it."""

    def __init__(self, *, allow_local: bool) -> None:
        super().__init__()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=PinnedNetworkBackend(allow_local=allow_local),
        )
