"""Portal tokens: short-lived, single-use, signed claims that let one customer into the portal (CONTRACT §6).

Signed with itsdangerous (HMAC-SHA256, salt per purpose). A token verifies under any of the server's
``SELFSERVE_SECRET_KEYS`` (what the API mints with) or the org's embed signing secret (what a merchant backend
mints with offline), and only for the org it names. ``redeem_portal_token`` burns its ``jti`` atomically, so a
token opens at most one session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal
from uuid import UUID

import msgspec
from itsdangerous import BadData, Signer, URLSafeSerializer
from itsdangerous.encoding import base64_encode

from server import clock
from server.auth.replay import ReplayStore
from server.db.point_reads import read_one
from server.errors import Invalid, Unauthorized
from server.schemas.views import check_view_names
from server.security.keyring import Keyring
from server.security.origins import origin_matches
from server.security.secrets import SecretBox

SALT = "selfserve.portal-token.v1"
MIN_TTL = 60
MAX_TTL = 86_400
DEFAULT_TTL = 3_600
CLOCK_SKEW_SECONDS = 30
"""How far in the future ``iat`` may be (clocks of merchant backends drift a little), never more."""

RefusalReason = Literal[
    "malformed", "signature", "wrong_org", "wrong_customer", "expired", "not_yet_valid", "replayed", "origin"
]


class PortalClaims(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    org: str
    sub: str
    """The customer id."""
    jti: str
    iat: int
    exp: int
    views: list[str] | None = None
    """Views the token opens; None means every view the org's settings show."""
    read_only: bool = False
    return_url: str | None = None
    origins: list[str] | None = None
    """Parent origins the token may be used from, narrower than the org's allowlist; None means the org's."""
    viewed_by: str | None = None
    """A staff member looking from the console (its preview): the session is read-only and not counted."""
    v: int = 1

    @property
    def org_id(self) -> UUID:
        return UUID(self.org)

    @property
    def customer_id(self) -> UUID:
        return UUID(self.sub)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, UTC)


class InvalidToken(Unauthorized):
    """A refused token. ``claims`` is set when the signature was good (an expired or used token), so the
    portal can offer a fresh login for that customer instead of an error wall."""

    code = "token_refused"

    def __init__(self, reason: RefusalReason, detail: str, claims: PortalClaims | None = None) -> None:
        super().__init__(detail)
        self.reason: RefusalReason = reason
        self.claims = claims


def _serializer(keys: str | Sequence[str]) -> URLSafeSerializer:
    secret_keys = [keys] if isinstance(keys, str) else list(keys)
    return URLSafeSerializer(secret_keys, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


@lru_cache(maxsize=256)
def _signer(secret: str) -> Signer:
    """What ``_serializer(secret).dumps`` signs with, made once per secret (the server's newest key, or an
    embed signing secret)."""
    return _serializer(secret).make_signer()


def _sign(claims: PortalClaims, secret: str) -> str:
    """The token ``_serializer(secret).dumps`` would make, minus zlib: the JSON goes in as is (uncompressed
    payloads are the serializer's other format, and compressing took half the time of a mint)."""
    return _signer(secret).sign(base64_encode(msgspec.json.encode(claims))).decode()


def issue_portal_token(
    *,
    org_id: UUID | str,
    customer_id: UUID | str,
    secret: str,
    ttl: int = DEFAULT_TTL,
    views: Sequence[str] | None = None,
    read_only: bool = False,
    return_url: str | None = None,
    origins: Sequence[str] | None = None,
    viewed_by: str | None = None,
) -> tuple[str, PortalClaims]:
    """A signed token and the claims it carries."""
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise Invalid(f"a portal token lives {MIN_TTL} to {MAX_TTL} seconds, not {ttl}")
    if views is not None:
        check_view_names(views)
    now = int(clock.now().timestamp())
    claims = PortalClaims(
        org=str(org_id),
        sub=str(customer_id),
        jti=secrets.token_urlsafe(16),
        iat=now,
        exp=now + ttl,
        views=list(views) if views is not None else None,
        read_only=read_only,
        return_url=return_url,
        origins=list(origins) if origins is not None else None,
        viewed_by=viewed_by,
    )
    return _sign(claims, secret), claims


def mint_portal_token(
    *,
    org_id: UUID | str,
    customer_id: UUID | str,
    secret: str,
    ttl: int = DEFAULT_TTL,
    views: Sequence[str] | None = None,
    read_only: bool = False,
    return_url: str | None = None,
    origins: Sequence[str] | None = None,
) -> str:
    """A portal token for one customer. A merchant backend passes its embed signing secret (``ss_es_…``)."""
    token, _ = issue_portal_token(
        org_id=org_id,
        customer_id=customer_id,
        secret=secret,
        ttl=ttl,
        views=views,
        read_only=read_only,
        return_url=return_url,
        origins=origins,
    )
    return token


_UNVERIFIED = _serializer("unverified")
"""Only its payload decoding is used, to peek."""


def peek_ids(token: str) -> tuple[UUID, UUID]:
    """(org, customer) a token names, read WITHOUT verifying it: only to pick the keys to verify it with."""
    try:
        payload = _UNVERIFIED.load_payload(token.rsplit(".", 1)[0].encode())
        return UUID(str(payload["org"])), UUID(str(payload["sub"]))
    except (BadData, TypeError, KeyError, ValueError) as exc:
        raise InvalidToken("malformed", "this is not a portal token") from exc


_SIGNER_OF = (
    "SELECT o.id, o.name, o.branding, o.portal_settings, o.allowed_origins, o.embed_secret_encrypted,"
    " c.id IS NOT NULL AS own_customer, c.locale AS customer_locale"
    " FROM ss_organization o LEFT JOIN ss_customer c ON c.org = o.id AND c.id = {} WHERE o.id = {}"
)
"""The org a token names (its keys, and what a portal opened with the token shows), and whether the
customer it names is that org's (with that customer's locale)."""


async def signer_of(token: str) -> dict[str, Any] | None:
    """The ``_SIGNER_OF`` row of the org ``token`` names, read WITHOUT verifying the token (only to pick the
    keys to verify it with); None for an unknown org. ``InvalidToken`` for what is not a portal token."""
    org_id, customer_id = peek_ids(token)
    return await read_one(_SIGNER_OF, customer_id, org_id)


@lru_cache(maxsize=1024)
def _decrypted(box: SecretBox, encrypted: str) -> str:
    """An org's embed signing secret, decrypted once per process and ciphertext (a rotation re-encrypts it,
    and a new secret is a new ciphertext, so neither is served stale)."""
    return box.decrypt(encrypted)


def verification_keys(keyring: Keyring, embed_secret_encrypted: str) -> tuple[str, ...]:
    return (*keyring.secret_keys, _decrypted(keyring.box, embed_secret_encrypted))


@lru_cache(maxsize=256)
def _verifier(keys: tuple[str, ...]) -> URLSafeSerializer:
    return _serializer(keys)


def verify_portal_token(
    token: str, *, keys: Sequence[str], org_id: UUID, origin: str | None = None
) -> PortalClaims:
    """The claims of a genuine, current token for ``org_id``; ``InvalidToken`` otherwise. Does not burn it."""
    try:
        payload = _verifier(tuple(keys)).loads(token)
    except BadData as exc:
        raise InvalidToken("signature", "this portal token is not genuine") from exc
    try:
        claims = msgspec.convert(payload, PortalClaims)
        UUID(claims.org), UUID(claims.sub)
    except (msgspec.ValidationError, ValueError) as exc:
        raise InvalidToken("malformed", "this portal token is malformed") from exc
    if claims.org != str(org_id):
        raise InvalidToken("wrong_org", "this portal token belongs to another organization")
    if not MIN_TTL <= claims.exp - claims.iat <= MAX_TTL:
        raise InvalidToken("malformed", f"a portal token lives {MIN_TTL} to {MAX_TTL} seconds")
    now = clock.now().timestamp()
    if claims.iat > now + CLOCK_SKEW_SECONDS:
        raise InvalidToken("not_yet_valid", "this portal token is dated in the future", claims)
    if claims.exp <= now:
        raise InvalidToken("expired", "this portal token has expired", claims)
    if origin is not None and claims.origins is not None and not origin_matches(origin, claims.origins):
        raise InvalidToken("origin", "this portal token may not be used from this origin", claims)
    return claims


async def redeem_portal_token(
    token: str,
    *,
    keyring: Keyring,
    replay_store: ReplayStore,
    expected_org_id: UUID | None = None,
    origin: str | None = None,
    signer: dict[str, Any] | None = None,
) -> PortalClaims:
    """Verify ``token`` and burn it: of any number of concurrent redemptions exactly one succeeds.

    Nothing is burned for a token refused here: not one presented to another org's portal
    (``expected_org_id``), which stays good where it belongs, nor one whose signer names a customer it does
    not have (an org's embed secret signs for its own customers only). ``signer`` is the token's
    ``signer_of`` row when the caller has already read it."""
    org_id, _ = peek_ids(token)
    if expected_org_id is not None and org_id != expected_org_id:
        raise InvalidToken("wrong_org", "this portal token belongs to another organization")
    org = signer if signer is not None else await signer_of(token)
    if org is None:
        raise InvalidToken("wrong_org", "this portal token names no known organization")
    keys = verification_keys(keyring, org["embed_secret_encrypted"])
    claims = verify_portal_token(token, keys=keys, org_id=org_id, origin=origin)
    if not org["own_customer"]:
        raise InvalidToken("wrong_customer", "this portal token names a customer of another organization")
    if not await replay_store.burn(claims.jti, org_id, claims.expires_at):
        raise InvalidToken("replayed", "this portal token has already been used", claims)
    return claims
