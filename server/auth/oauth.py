"""Signing in with GitHub, Google or an OpenID Connect provider: the protocol side, done by authlib.

A flow has three parts: ``begin`` makes the secrets one sign-in needs (``state``, the ID token ``nonce`` and
the PKCE verifier) and the provider's authorize URL; the browser goes there and comes back to the callback
with a code; ``finish`` checks the state, trades the code (with the verifier) for tokens and returns who the
provider says the person is. Keeping a flow's secrets between the two requests, and using each once, is the
caller's part (``server.portal.oauth``).

Every request to a provider goes through the SSRF guard (``GuardedTransport``); local addresses only when
``SELFSERVE_ALLOW_LOCAL_OAUTH`` allows them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from server import clock
from server.enums import OAuthProviderKind
from server.errors import DomainError, Invalid, Unauthorized
from server.security.ssrf import GuardedTransport, check_outgoing_url

with warnings.catch_warnings():
    # authlib prefers the httpx2 fork and warns when it imports httpx instead; this project's HTTP client,
    # and the SSRF-guarded transport above, are httpx's.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

GOOGLE_ISSUER = "https://accounts.google.com"
TIMEOUT = httpx.Timeout(10.0)
LEEWAY_SECONDS = 120
"""Clock skew allowed between this server and the provider when checking an ID token's times."""
SCOPES = {
    OAuthProviderKind.GITHUB: "read:user user:email",
    OAuthProviderKind.GOOGLE: "openid email profile",
    OAuthProviderKind.OIDC: "openid email profile",
}
NAMES = {OAuthProviderKind.GITHUB: "GitHub", OAuthProviderKind.GOOGLE: "Google"}
GITHUB_JSON = {"accept": "application/vnd.github+json", "x-github-api-version": "2022-11-28"}


class SignInFailed(Unauthorized):
    """The provider did not vouch for anyone: the person said no, the answer did not match this flow, the
    code or a token was refused, or the provider could not be reached. People see a neutral page."""

    code = "sign_in_failed"


class Endpoints(msgspec.Struct, frozen=True, kw_only=True):
    """Where a provider's flow goes. OpenID Connect providers name them in their discovery document."""

    issuer: str = ""
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str = ""
    jwks_uri: str = ""
    id_token_signing_alg_values_supported: list[str] = msgspec.field(default_factory=lambda: ["RS256"])
    token_endpoint_auth_methods_supported: list[str] = msgspec.field(
        default_factory=lambda: ["client_secret_basic"]
    )


def github_endpoints(oauth_base: str, api_base: str) -> Endpoints:
    """GitHub's documented OAuth app endpoints (no discovery document: GitHub is OAuth 2, not OpenID)."""
    return Endpoints(
        authorization_endpoint=f"{oauth_base}/login/oauth/authorize",
        token_endpoint=f"{oauth_base}/login/oauth/access_token",
        userinfo_endpoint=f"{api_base}/user",
        token_endpoint_auth_methods_supported=["client_secret_post"],
    )


@dataclass(frozen=True)
class ProviderClient:
    """One merchant's provider, ready for a flow: its kind, credentials and endpoints."""

    kind: OAuthProviderKind
    client_id: str
    client_secret: str
    endpoints: Endpoints
    allow_local: bool

    @property
    def is_openid(self) -> bool:
        return self.kind is not OAuthProviderKind.GITHUB

    def session(self, redirect_uri: str) -> AsyncOAuth2Client:
        methods = self.endpoints.token_endpoint_auth_methods_supported
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=SCOPES[self.kind],
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=(
                "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
            ),
            transport=GuardedTransport(allow_local=self.allow_local),
            timeout=TIMEOUT,
        )


class Pending(msgspec.Struct, frozen=True):
    """What the callback needs to check and finish one flow; it must be used once."""

    state: str
    nonce: str
    verifier: str


class Identity(msgspec.Struct, frozen=True):
    """Who the provider says signed in: its stable id for them and the email it vouches for, if any."""

    provider: OAuthProviderKind
    subject: str
    email: str | None
    email_verified: bool


async def discover(issuer: str, *, allow_local: bool) -> Endpoints:
    """The endpoints an OpenID Connect issuer publishes, checked: the document must name the same issuer,
    and every endpoint must be a web URL the server may call."""
    issuer = issuer.rstrip("/")
    await check_outgoing_url(issuer, allow_local=allow_local)
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        async with httpx.AsyncClient(
            transport=GuardedTransport(allow_local=allow_local), timeout=TIMEOUT
        ) as http:
            response = await http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
        found = msgspec.json.decode(response.content, type=Endpoints)
    except (httpx.HTTPError, msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Invalid(f"no OpenID Connect discovery document at {url}: {_reason(exc)}") from exc
    if found.issuer.rstrip("/") != issuer:
        raise Invalid(f"the discovery document at {url} names another issuer ({found.issuer!r})")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = getattr(found, name)
        if not value:
            raise Invalid(f"the discovery document at {url} has no {name}")
        await check_outgoing_url(value, allow_local=allow_local)
    return found


async def begin(client: ProviderClient, redirect_uri: str) -> tuple[str, Pending]:
    """The provider's authorize URL for a new flow, and the flow's secrets."""
    pending = Pending(state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64))
    extra = {"nonce": pending.nonce} if client.is_openid else {}
    async with client.session(redirect_uri) as session:
        url, _ = session.create_authorization_url(
            client.endpoints.authorization_endpoint,
            state=pending.state,
            code_verifier=pending.verifier,
            **extra,
        )
    return str(url), pending


def code_of(callback_url: str, pending: Pending) -> str:
    """The code the provider sent back, if the callback carries this flow's state (else ``SignInFailed``)."""
    try:
        params = parse_authorization_code_response(callback_url, state=pending.state)
    except AuthlibBaseError as exc:
        raise SignInFailed(f"the provider's answer does not belong to this sign-in: {_reason(exc)}") from exc
    return str(params["code"])


async def finish(client: ProviderClient, redirect_uri: str, pending: Pending, code: str) -> Identity:
    """Trade ``code`` for tokens and say who signed in (``SignInFailed`` when anything does not check)."""
    try:
        async with client.session(redirect_uri) as session:
            token = await session.fetch_token(
                client.endpoints.token_endpoint, code=code, code_verifier=pending.verifier
            )
            if client.is_openid:
                return await _openid_identity(client, session, token, pending)
            return await _github_identity(client, session)
    except SignInFailed:
        raise
    except (
        AuthlibBaseError,
        JoseError,
        httpx.HTTPError,
        DomainError,
        ValueError,
        KeyError,
        TypeError,
    ) as exc:
        raise SignInFailed(f"{client.kind} sign-in failed: {_reason(exc)}") from exc


async def _openid_identity(
    client: ProviderClient, session: AsyncOAuth2Client, token: dict[str, Any], pending: Pending
) -> Identity:
    """The ID token, checked by authlib: signature (the issuer's published keys), issuer, audience, times,
    nonce and access-token hash. Claims it lacks (some providers put the email only there) come from the
    userinfo endpoint, which must name the same subject."""
    if "id_token" not in token:
        raise SignInFailed("the provider sent no ID token")
    endpoints = client.endpoints
    response = await session.request("GET", endpoints.jwks_uri, withhold_token=True)
    response.raise_for_status()
    decoded = jwt.decode(
        token["id_token"],
        KeySet.import_key_set(response.json()),
        algorithms=[alg for alg in endpoints.id_token_signing_alg_values_supported if alg != "none"],
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": endpoints.issuer},
            "aud": {"essential": True, "value": client.client_id},
        },
        {"nonce": pending.nonce, "client_id": client.client_id, "access_token": token.get("access_token")},
    )
    claims.validate(now=int(clock.now().timestamp()), leeway=LEEWAY_SECONDS)
    details: dict[str, Any] = dict(claims)
    if "email" not in details and endpoints.userinfo_endpoint:
        response = await session.get(endpoints.userinfo_endpoint)
        response.raise_for_status()
        userinfo = response.json()
        if userinfo.get("sub") != claims["sub"]:
            raise SignInFailed("the userinfo endpoint describes someone else")
        details = {**userinfo, **details}
    email = details.get("email")
    return Identity(
        provider=client.kind,
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) and email else None,
        email_verified=details.get("email_verified") in (True, "true"),
    )


async def _github_identity(client: ProviderClient, session: AsyncOAuth2Client) -> Identity:
    """GitHub's user id, and the primary email from ``/user/emails`` with whether GitHub verified it."""
    user = await session.get(client.endpoints.userinfo_endpoint, headers=GITHUB_JSON)
    user.raise_for_status()
    emails = await session.get(f"{client.endpoints.userinfo_endpoint}/emails", headers=GITHUB_JSON)
    emails.raise_for_status()
    primary = next((e for e in emails.json() if isinstance(e, dict) and e.get("primary") is True), None)
    email = primary.get("email") if primary else None
    return Identity(
        provider=client.kind,
        subject=str(user.json()["id"]),
        email=email if isinstance(email, str) and email else None,
        email_verified=bool(primary and primary.get("verified") is True),
    )


def _reason(exc: Exception) -> str:
    """A short, log-safe account of what went wrong (never a token)."""
    if isinstance(exc, DomainError):
        return exc.detail
    if isinstance(exc, AuthlibBaseError):
        return f"{exc.error}: {exc.description or ''}".strip(": ")
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.host}"
    return f"{type(exc).__name__}: {exc}"[:300]
