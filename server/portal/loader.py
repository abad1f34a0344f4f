"""``loader.js`` for merchant pages on any origin (EMBEDDING.md "Headers"): a short-cache alias that always
serves the current script, and an immutable copy under its content hash, which is what the README's SRI hash
pins."""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass

from litestar import Response, route
from litestar.params import FromPath

from server.errors import NotFound
from server.paths import STATIC_DIR
from server.security.headers import GET_AND_HEAD

ALIAS_MAX_AGE = 300
"""How long browsers and CDNs keep the alias: a new loader reaches every page within five minutes."""


@dataclass(frozen=True)
class LoaderScript:
    body: bytes
    version: str
    """The first 16 hex digits of the script's SHA-256: a new script gets a new immutable URL."""
    integrity: str
    """The ``integrity`` attribute value (SHA-384) for ``<script src=".../loader/{version}/loader.js">``."""

    @property
    def path(self) -> str:
        return f"/loader/{self.version}/loader.js"


@functools.cache
def loader_script() -> LoaderScript:
    body = (STATIC_DIR / "loader.js").read_bytes()
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
    return LoaderScript(
        body=body, version=hashlib.sha256(body).hexdigest()[:16], integrity=f"sha384-{digest}"
    )


def _script(cache_control: str) -> Response[bytes]:
    return Response(
        loader_script().body,
        media_type="text/javascript",
        headers={
            "cache-control": cache_control,
            "access-control-allow-origin": "*",
            "cross-origin-resource-policy": "cross-origin",
        },
    )


@route(
    "/static/loader.js",
    http_method=GET_AND_HEAD,
    name="loader-alias",
    include_in_schema=False,
    sync_to_thread=False,
)
def loader_alias() -> Response[bytes]:
    """Always the current loader; pages that pin it with SRI use the versioned URL instead."""
    return _script(f"public, max-age={ALIAS_MAX_AGE}")


@route(
    "/loader/{version:str}/loader.js",
    http_method=GET_AND_HEAD,
    name="loader-versioned",
    include_in_schema=False,
    sync_to_thread=False,
)
def loader_versioned(version: FromPath[str]) -> Response[bytes]:
    """The current loader under its own hash, cacheable for ever; an old hash is gone (404), not redirected,
    so a pinned integrity hash never meets other bytes."""
    if version != loader_script().version:
        raise NotFound("this loader version is not served here; see the README for the current one")
    return _script("public, max-age=31536000, immutable")
