"""Typed settings, read from ``SELFSERVE_*`` environment variables once (CONTRACT §4)."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from server.db.engine import DEFAULT_DATABASE_URL

log = logging.getLogger("selfserve")

ENVIRONMENTS = ("development", "production")
MIN_SECRET_KEY_LENGTH = 32


class SettingsError(ValueError):
    """The environment asks for something unsafe or impossible; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    """``sqlite:///path`` or ``postgresql://user:pass@host:port/db``."""
    redis_url: str | None = None
    """When set, rate limits, the token-replay store and caches live in Redis."""
    secret_keys: tuple[str, ...] = ()
    """Signing and encryption keys, oldest first; the newest signs and encrypts, all verify and decrypt."""
    public_url: str = "http://127.0.0.1:8000"
    """Base of every URL the server hands out."""
    smtp_url: str | None = None
    """``smtp://user:pass@host:port`` or ``smtps://…``; unset: mail goes to ``data_dir/outbox``."""
    env: str = "development"
    """``development`` or ``production``; production refuses insecure settings."""
    data_dir: Path = field(default_factory=lambda: Path(".selfserve"))
    """Where development keys and the mail outbox live."""
    allow_local_webhooks: bool = False
    """Development only: let webhook endpoints point at localhost receivers."""
    allow_local_oauth: bool = False
    """Development and tests only: let sign-in providers (an OpenID Connect issuer, the GitHub endpoints
    below) live on this machine."""
    github_oauth_base: str = "https://github.com"
    """Where GitHub's authorize and token endpoints live (a GitHub Enterprise server, or a test stand-in)."""
    github_api_base: str = "https://api.github.com"
    """Where GitHub's REST API (``/user``, ``/user/emails``) lives."""
    stripe_api_base: str = "https://api.stripe.com"
    """Where the Stripe API lives for merchants on the Stripe provider (a Stripe-compatible test server in
    development and tests)."""
    stripe_js_url: str = "https://js.stripe.com/v3/"
    """The Stripe.js the portal's card form loads for merchants on Stripe."""
    max_body_bytes: int = 1_048_576
    """Request bodies above this are refused with 413."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``10.0.0.7``, ``10.0.0.0/24``) of the reverse proxies whose ``X-Forwarded-For``
    and ``X-Forwarded-Proto`` are believed; empty: no forwarded header is believed."""

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(f"SELFSERVE_{name}", "").strip()
            return value or None

        mode = get("ENV") or "development"
        if mode not in ENVIRONMENTS:
            raise SettingsError(f"SELFSERVE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {mode!r}")
        data_dir = Path(get("DATA_DIR") or ".selfserve")
        keys = tuple(k.strip() for k in (get("SECRET_KEYS") or "").split(",") if k.strip())
        proxies = tuple(p.strip() for p in (get("TRUSTED_PROXIES") or "").split(",") if p.strip())
        settings = cls(
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            redis_url=get("REDIS_URL"),
            secret_keys=keys,
            public_url=(get("PUBLIC_URL") or cls.public_url).rstrip("/"),
            smtp_url=get("SMTP_URL"),
            env=mode,
            data_dir=data_dir,
            allow_local_webhooks=_flag(get("ALLOW_LOCAL_WEBHOOKS")),
            allow_local_oauth=_flag(get("ALLOW_LOCAL_OAUTH")),
            github_oauth_base=(get("GITHUB_OAUTH_BASE") or cls.github_oauth_base).rstrip("/"),
            github_api_base=(get("GITHUB_API_BASE") or cls.github_api_base).rstrip("/"),
            stripe_api_base=(get("STRIPE_API_BASE") or cls.stripe_api_base).rstrip("/"),
            stripe_js_url=get("STRIPE_JS_URL") or cls.stripe_js_url,
            trusted_proxies=proxies,
        )
        problems = settings.problems()
        if problems:
            raise SettingsError("refusing to start:\n" + "\n".join(f"  - {p}" for p in problems))
        if not settings.secret_keys:
            settings = settings.with_development_keys()
        return settings

    def problems(self) -> list[str]:
        """What is wrong with these settings, phrased as what to set."""
        found = []
        if urlsplit(self.public_url).scheme not in {"http", "https"}:
            found.append("SELFSERVE_PUBLIC_URL must be an http(s) URL such as https://billing.example.com")
        for name, url in (
            ("SELFSERVE_GITHUB_OAUTH_BASE", self.github_oauth_base),
            ("SELFSERVE_GITHUB_API_BASE", self.github_api_base),
            ("SELFSERVE_STRIPE_API_BASE", self.stripe_api_base),
            ("SELFSERVE_STRIPE_JS_URL", self.stripe_js_url),
        ):
            if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).hostname:
                found.append(f"{name} must be an http(s) URL such as https://github.example.com")
        for key in self.secret_keys:
            if len(key) < MIN_SECRET_KEY_LENGTH:
                found.append(
                    f"every key in SELFSERVE_SECRET_KEYS needs at least {MIN_SECRET_KEY_LENGTH} characters"
                )
                break
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                found.append(
                    f"SELFSERVE_TRUSTED_PROXIES lists {proxy!r}: give your proxies' addresses or networks "
                    "(10.0.0.7, 10.0.0.0/24), never a name or *"
                )
        if self.is_production:
            if not self.secret_keys:
                found.append(
                    "set SELFSERVE_SECRET_KEYS to one or more random strings of 32+ characters "
                    '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
                )
            if urlsplit(self.public_url).scheme != "https":
                found.append("set SELFSERVE_PUBLIC_URL to the https:// address customers reach")
            if self.allow_local_webhooks:
                found.append(
                    "unset SELFSERVE_ALLOW_LOCAL_WEBHOOKS: localhost webhook receivers are for development"
                )
            if self.allow_local_oauth:
                found.append(
                    "unset SELFSERVE_ALLOW_LOCAL_OAUTH: sign-in providers on this machine are for development"
                )
        return found

    def with_development_keys(self) -> Settings:
        """Development convenience: a key generated once into ``data_dir/secret_key``, with a warning."""
        path = self.data_dir / "secret_key"
        if path.exists():
            key = path.read_text().strip()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            path.write_text(key + "\n")
            path.chmod(0o600)
        log.warning("SELFSERVE_SECRET_KEYS is not set: using the development key in %s", path)
        return Settings(**{**self.__dict__, "secret_keys": (key,)})


def _flag(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}
