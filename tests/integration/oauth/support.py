"""The two sign-in providers the OAuth tests talk to over real HTTP.

``OpenIdProvider`` runs ``oidc-provider-mock`` (a real OpenID Connect provider built on authlib, from PyPI)
in a process of its own. Its authorization page asks for the ``sub`` to sign in as; the claims that ``sub``
gets (``email``, ``email_verified``) are set beforehand with ``set_user``.

``GitHubStandIn`` is the one fake the suite allows: GitHub itself cannot be reached from this machine, so
this small server speaks GitHub's documented OAuth app protocol in its place: ``GET /login/oauth/authorize``
(a consent page), ``POST /login/oauth/access_token`` (JSON when asked for, and GitHub's habit of answering
a bad code with 200 and an ``error`` field), ``GET /user`` and ``GET /user/emails`` (bearer token). It checks
what GitHub checks: the client secret, the redirect URI, single-use codes, and the PKCE verifier. The
server's settings point at it through ``SELFSERVE_GITHUB_OAUTH_BASE`` and ``SELFSERVE_GITHUB_API_BASE``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class OpenIdProvider:
    """oidc-provider-mock on ``url`` (its issuer), requiring a nonce in every authorization request."""

    url: str
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls) -> OpenIdProvider:
        port = free_port()
        command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--require-nonce"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        provider = cls(url=f"http://127.0.0.1:{port}", process=process)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if (
                    httpx.get(f"{provider.url}/.well-known/openid-configuration", timeout=2).status_code
                    == 200
                ):
                    return provider
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                provider.stop()
                raise RuntimeError("oidc-provider-mock did not start")
            time.sleep(0.1)

    def set_user(self, sub: str, **claims: Any) -> None:
        """The claims ``sub`` gets when someone signs in as them on the authorization page."""
        httpx.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class GitHubUser:
    id: int
    login: str
    emails: list[dict[str, Any]]


@dataclass
class _Grant:
    login: str
    client_id: str
    redirect_uri: str
    challenge: str


@dataclass
class GitHubStandIn:
    """See the module docstring. ``apps`` maps client ids to secrets; ``users`` maps logins to users."""

    port: int = field(default_factory=free_port)
    apps: dict[str, str] = field(default_factory=dict)
    users: dict[str, GitHubUser] = field(default_factory=dict)
    codes: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GitHubStandIn:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _github_handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def register_app(self) -> tuple[str, str]:
        """A new OAuth app: (client id, client secret)."""
        client_id, secret = "Iv1." + secrets.token_hex(8), secrets.token_hex(20)
        self.apps[client_id] = secret
        return client_id, secret

    def add_user(self, login: str, email: str, *, verified: bool = True) -> GitHubUser:
        """A GitHub user whose primary email is ``email`` (verified or not), with a second, verified one."""
        user = GitHubUser(
            id=len(self.users) + 4_000_001,
            login=login,
            emails=[
                {"email": f"{login}@users.noreply.github.com", "primary": False, "verified": True},
                {"email": email, "primary": True, "verified": verified, "visibility": "private"},
            ],
        )
        self.users[login] = user
        return user


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _github_handler(site: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value).encode(), "application/json; charset=utf-8")

        def _form(self) -> dict[str, str]:
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            return {k: v[0] for k, v in parse_qs(body).items()}

        def _user(self) -> GitHubUser | None:
            scheme, _, token = self.headers.get("authorization", "").partition(" ")
            login = site.tokens.get(token) if scheme.lower() in {"bearer", "token"} else None
            return site.users.get(login) if login else None

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/login/oauth/authorize":
                if query.get("client_id") not in site.apps:
                    self._send(404, b"unknown application", "text/plain")
                    return
                hidden = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                    for k, v in query.items()
                )
                page = (
                    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                    "<title>Authorize application</title></head><body><h1>Authorize application</h1>"
                    f"<form method='post' action='/login/oauth/authorize'>{hidden}"
                    "<label>GitHub login <input name='login'></label>"
                    "<button type='submit'>Authorize</button></form></body></html>"
                )
                self._send(200, page.encode(), "text/html; charset=utf-8")
            elif parts.path in {"/user", "/user/emails"}:
                user = self._user()
                if user is None:
                    self._json(401, {"message": "Bad credentials"})
                elif parts.path == "/user":
                    self._json(200, {"id": user.id, "login": user.login, "name": user.login, "email": None})
                else:
                    self._json(200, user.emails)
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            form = self._form()
            if path == "/login/oauth/authorize":
                if form.get("login") not in site.users:
                    self._send(422, b"no such GitHub user", "text/plain")
                    return
                code = secrets.token_hex(10)
                site.codes[code] = _Grant(
                    login=form["login"],
                    client_id=form["client_id"],
                    redirect_uri=form["redirect_uri"],
                    challenge=form.get("code_challenge", ""),
                )
                location = (
                    form["redirect_uri"] + "?" + urlencode({"code": code, "state": form.get("state", "")})
                )
                self._send(302, b"", "text/plain", {"location": location})
            elif path == "/login/oauth/access_token":
                grant = site.codes.pop(form.get("code", ""), None)
                fine = (
                    grant is not None
                    and site.apps.get(form.get("client_id", "")) == form.get("client_secret")
                    and grant.client_id == form.get("client_id")
                    and grant.redirect_uri == form.get("redirect_uri")
                    and (not grant.challenge or _challenge(form.get("code_verifier", "")) == grant.challenge)
                )
                if not fine or grant is None:
                    answer: dict[str, str] = {
                        "error": "bad_verification_code",
                        "error_description": "The code passed is incorrect or expired.",
                    }
                else:
                    token = "gho_" + secrets.token_hex(18)
                    site.tokens[token] = grant.login
                    answer = {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}
                if "json" in self.headers.get("accept", ""):
                    self._json(200, answer)
                else:
                    self._send(200, urlencode(answer).encode(), "application/x-www-form-urlencoded")
            else:
                self._send(404, b"not found", "text/plain")

    return Handler
