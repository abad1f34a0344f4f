"""Allowed embed origins (EMBEDDING.md): exact origins or one leading ``*.`` wildcard label; plain http only
for localhost and private addresses; never ``*``. Pure functions, no I/O.

An origin is read once, by ``urllib.parse``, into scheme, host and port (the scheme's default port left out,
as browsers report it); it is compared and written back from those parts, never by slicing strings.

IPv6 addresses are refused: Content-Security-Policy has no way to name one in ``frame-ancestors`` (its host
grammar is letters, digits, dots and dashes; Chromium drops ``http://[::1]:3000`` as invalid, which leaves
``'none'``), so a page on such an origin could never show the portal. A host name works
(``http://localhost:3000``)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL_NAMES = {"localhost"}
DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    """Lower case, without brackets; an allowlist pattern's may start with ``*.``."""
    port: int | None
    """None for the scheme's default port."""

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" if self.port is None else f"{self.scheme}://{host}:{self.port}"


def parse_origin(value: str) -> Origin:
    """``scheme://host[:port]`` and nothing else, or ``OriginError``."""
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in DEFAULT_PORTS:
        raise OriginError(f"{value!r}: an origin starts with https:// (or http:// for localhost)")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username or parts.password:
        raise OriginError(f"{value!r}: an origin has no path, query, fragment or credentials")
    try:
        port = parts.port
    except ValueError as exc:
        raise OriginError(f"{value!r}: invalid port") from exc
    if not parts.hostname:
        raise OriginError(f"{value!r}: an origin names a host")
    return Origin(parts.scheme, parts.hostname, None if port == DEFAULT_PORTS[parts.scheme] else port)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_local_host(host: str) -> bool:
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    address = _address(host)
    return address is not None and (address.is_loopback or address.is_private)


def normalize_origin_pattern(value: str) -> str:
    """Validate an allowlist entry and return its canonical spelling, or raise ``OriginError``."""
    if value.strip() in {"", "*"}:
        raise OriginError("an allowed origin must be a specific origin such as https://app.example.com")
    origin = parse_origin(value)
    wildcard = origin.host.startswith("*.")
    bare = origin.host.removeprefix("*.")
    address = _address(bare)
    if address is None:
        labels = bare.split(".")
        if not all(_HOST_LABEL.match(label) for label in labels):
            raise OriginError(f"{value!r}: invalid host name")
        if wildcard and len(labels) < 2:
            raise OriginError(f"{value!r}: a wildcard needs a domain under it, like https://*.example.com")
    elif wildcard:
        raise OriginError(f"{value!r}: wildcards apply to domain names, not addresses")
    elif address.version == 6:
        raise OriginError(
            f"{value!r}: browsers cannot allow an IPv6 address to frame a page (Content-Security-Policy "
            "frame-ancestors has no syntax for it); use a host name, such as http://localhost:3000"
        )
    if origin.scheme == "http" and not _is_local_host(bare):
        raise OriginError(f"{value!r}: plain http is allowed only for localhost and private addresses")
    return str(origin)


def origin_matches(origin: str, patterns: list[str]) -> bool:
    """Is the browser-reported ``origin`` allowed by one of the ``patterns``?"""
    try:
        candidate = parse_origin(origin)
    except OriginError:
        return False
    if "*" in candidate.host:
        return False
    for pattern in patterns:
        try:
            allowed = parse_origin(pattern)
        except OriginError:
            continue
        if allowed.scheme != candidate.scheme or allowed.port != candidate.port:
            continue
        if allowed.host == candidate.host:
            return True
        suffix = allowed.host.removeprefix("*")
        if suffix != allowed.host and candidate.host.endswith(suffix) and len(candidate.host) > len(suffix):
            return True
    return False
