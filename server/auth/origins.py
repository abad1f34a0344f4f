"""Allowed embed origins (EMBEDDING.md): exact origins or one leading ``*.`` wildcard label; plain http only
for localhost and private addresses; never ``*``. Pure functions, no I/O."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL_NAMES = {"localhost"}


class OriginError(ValueError):
    pass


def _is_local_host(host: str) -> bool:
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def normalize_origin_pattern(value: str) -> str:
    """Validate an allowlist entry and return its canonical spelling, or raise ``OriginError``."""
    raw = value.strip()
    if raw == "*" or not raw:
        raise OriginError("an allowed origin must be a specific origin such as https://app.example.com")
    parts = urlsplit(raw.lower())
    if parts.scheme not in {"http", "https"}:
        raise OriginError(f"{value!r}: an origin starts with https:// (or http:// for localhost)")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username or parts.password:
        raise OriginError(f"{value!r}: an origin has no path, query, fragment or credentials")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError as exc:
        raise OriginError(f"{value!r}: invalid port") from exc
    wildcard = host.startswith("*.")
    bare = host[2:] if wildcard else host
    is_ip = True
    try:
        ipaddress.ip_address(bare.strip("[]"))
    except ValueError:
        is_ip = False
    if not is_ip:
        labels = bare.split(".")
        if not all(_HOST_LABEL.match(label) for label in labels):
            raise OriginError(f"{value!r}: invalid host name")
        if wildcard and len(labels) < 2:
            raise OriginError(f"{value!r}: a wildcard needs a domain under it, like https://*.example.com")
    elif wildcard:
        raise OriginError(f"{value!r}: wildcards apply to domain names, not addresses")
    if parts.scheme == "http" and not _is_local_host(bare):
        raise OriginError(f"{value!r}: plain http is allowed only for localhost and private addresses")
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


def origin_matches(origin: str, patterns: list[str]) -> bool:
    """Is the browser-reported ``origin`` allowed by one of the (normalized) ``patterns``?"""
    parts = urlsplit(origin.lower())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    try:
        port = parts.port
    except ValueError:
        return False
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    candidate = f"{parts.scheme}://{netloc}"
    for pattern in patterns:
        if pattern == candidate:
            return True
        scheme, _, rest = pattern.partition("://")
        if rest.startswith("*.") and scheme == parts.scheme:
            suffix_netloc = rest[1:]
            if netloc.endswith(suffix_netloc) and len(netloc) > len(suffix_netloc):
                return True
    return False
