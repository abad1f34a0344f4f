"""The ``selfserve`` command (CONTRACT §3)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import msgspec

from server.db.engine import bind_tables, close_engine, engine_from_url, open_engine
from server.db.migrate import migrate
from server.errors import DomainError, Invalid
from server.security.keyring import Keyring
from server.settings import Settings, SettingsError
from server.terminal import printable

Handler = Callable[[argparse.Namespace, Settings], int]
STDIN = "-"
"""An argument that means: read the value from standard input."""


def _run_db(settings: Settings, work: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run ``work`` with the tables bound to the configured database, migrated first."""

    async def runner() -> Any:
        engine = engine_from_url(settings.database_url)
        bind_tables(engine)
        await open_engine(engine)
        try:
            await migrate(engine)
            return await work()
        finally:
            await close_engine(engine)

    return asyncio.run(runner())


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def runner() -> list[str]:
        engine = engine_from_url(settings.database_url)
        bind_tables(engine)
        await open_engine(engine)
        try:
            return await migrate(engine)
        finally:
            await close_engine(engine)

    applied = asyncio.run(runner())
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "; up to date"))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.access_log import log_config

    if (args.ssl_keyfile is None) != (args.ssl_certfile is None):
        print("selfserve: give both --ssl-keyfile and --ssl-certfile, or neither", file=sys.stderr)
        return 2
    cmd_migrate(args, settings)
    os.environ["SELFSERVE_RUN_WORKER"] = "0" if args.no_worker else "1"
    scheme = "https" if args.ssl_certfile else "http"
    print(f"selfserve on {scheme}://{args.host}:{args.port} (public URL {settings.public_url})", flush=True)
    uvicorn.run(
        "server.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        log_config=log_config(),
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        ssl_keyfile=args.ssl_keyfile,
        ssl_certfile=args.ssl_certfile,
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run every background job until SIGINT or SIGTERM, then let the current batches finish."""
    from server.jobs import JOBS
    from server.worker import JobContext, run_forever

    context = JobContext(settings, Keyring(settings.secret_keys))

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        names = ", ".join(job.name for job in JOBS)
        print(f"selfserve worker running: {names} (Ctrl-C stops)", flush=True)
        await run_forever(JOBS, context, stop)

    _run_db(settings, work)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from server.demo.run import HOST, run_demo

    if not os.environ.get("SELFSERVE_PUBLIC_URL", "").strip():
        settings = dataclasses.replace(settings, public_url=f"http://{HOST}:{args.port}")
    return asyncio.run(run_demo(settings, port=args.port, merchant_port=args.merchant_port))


def cmd_org_create(args: argparse.Namespace, settings: Settings) -> int:
    from server.organizations.service import create_organization

    keyring = Keyring(settings.secret_keys)
    created = _run_db(
        settings,
        lambda: create_organization(keyring, name=args.name, slug=args.slug, origins=args.origin or []),
    )
    out = {
        "id": str(created.org.id),
        "name": created.org.name,
        "slug": created.org.slug,
        "api_key": created.api_key,
        "embed_secret": created.embed_secret,
        "allowed_origins": created.org.allowed_origins,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"Created {printable(out['name'])} (slug {out['slug']}, id {out['id']})")
        print(f"  allowed origins: {', '.join(out['allowed_origins']) or 'none yet'}")
        print(f"  secret API key:  {out['api_key']}")
        print(f"  embed secret:    {out['embed_secret']}")
        print("Both secrets are shown only now; store them in your backend's secret store.")
    return 0


def cmd_apikey_create(args: argparse.Namespace, settings: Settings) -> int:
    from server.organizations.service import create_api_key, get_organization_by_slug

    keyring = Keyring(settings.secret_keys)

    async def work() -> tuple[str, str]:
        org = await get_organization_by_slug(args.org)
        return str(org.id), await create_api_key(keyring, org, name=args.name)

    org_id, key = _run_db(settings, work)
    if args.json:
        print(json.dumps({"org_id": org_id, "org": args.org, "api_key": key}))
    else:
        print(f"New secret API key for {args.org} (shown only now):\n  {key}")
    return 0


def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    """Put someone on a merchant's console team (the first owner, say) and print a sign-in link for them."""
    from server.console.auth import issue_link
    from server.console.staff import add_staff
    from server.organizations.service import get_organization_by_slug

    async def work() -> tuple[str, str, str]:
        org = await get_organization_by_slug(args.org)
        member = await add_staff(org.id, args.email, args.role, name=args.name)
        return org.name, member.email, await issue_link(org, member.email, settings.public_url)

    org_name, email, link = _run_db(settings, work)
    console = f"{settings.public_url}/console"
    print(f"{email} is now {args.role.lower()} of {printable(org_name)}'s console ({console}).")
    print(f"Sign-in link (works once, for 15 minutes; ask for a new one on the sign-in page):\n  {link}")
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Mint a portal token offline with the org's embed signing secret (CONTRACT §3)."""
    from uuid import UUID

    from server.errors import Invalid
    from server.organizations.customer_sessions import PortalLink, create_portal_link
    from server.organizations.service import get_organization_by_slug

    keyring = Keyring(settings.secret_keys)
    try:
        customer_id = UUID(args.customer) if args.customer else None
    except ValueError as exc:
        raise Invalid(f"--customer must be a customer id (a UUID), not {args.customer!r}") from exc

    async def work() -> PortalLink:
        org = await get_organization_by_slug(args.org)
        return await create_portal_link(
            org,
            secret=keyring.box.decrypt(org.embed_secret_encrypted),
            public_url=settings.public_url,
            customer_id=customer_id,
            external_customer_id=args.external_id,
            ttl=args.ttl,
            views=args.view,
        )

    link = _run_db(settings, work)
    if args.json:
        out = {"id": link.claims.jti, "token": link.token, "expires_at": link.claims.expires_at.isoformat()}
        print(json.dumps({**out, "customer_portal_url": link.url}))
    else:
        print(f"Portal token (single use, expires {link.claims.expires_at.isoformat()}):\n  {link.token}")
        print(f"Portal URL:\n  {link.url}")
    return 0


def cmd_analytics(args: argparse.Namespace, settings: Settings) -> int:
    """Print the portal analytics of the last ``--days`` days as a readable report."""
    from datetime import timedelta

    from server import clock
    from server.analytics.portal_analytics import report
    from server.analytics.reports import render_report
    from server.errors import Invalid
    from server.organizations.service import get_organization_by_slug

    if not 1 <= args.days <= 366:
        raise Invalid("--days must be between 1 and 366")

    async def work() -> str:
        org = await get_organization_by_slug(args.org)
        end = clock.now()
        return render_report(await report(org.id, end - timedelta(days=args.days), end), org.name)

    print(_run_db(settings, work))
    return 0


def _oauth_out(row: Any, org_slug: str, settings: Settings) -> dict[str, Any]:
    """A provider as the API shows it (never its secret)."""
    from server.enums import OAuthProviderKind
    from server.oauth.providers import callback_url, display_name
    from server.oauth.schemas import OAuthProviderOut

    kind = OAuthProviderKind(row.provider)
    out = OAuthProviderOut.of(
        row, name=display_name(row), callback_url=callback_url(settings.public_url, org_slug, kind)
    )
    printed: dict[str, Any] = json.loads(msgspec.json.encode(out))
    return printed


def _print_provider(out: dict[str, Any]) -> None:
    state = "enabled" if out["enabled"] else "disabled"
    issuer = f", issuer {out['issuer']}" if out["issuer"] else ""
    print(printable(f"{out['provider']} ({out['name']}, {state}): client id {out['client_id']}{issuer}"))
    print(f"  callback URL to register with the provider: {out['callback_url']}")


def cmd_oauth_set(args: argparse.Namespace, settings: Settings) -> int:
    """Configure a sign-in provider, as ``PUT /v1/oauth-providers/{provider}`` does. ``--client-secret -``
    reads the secret from standard input (it then stays out of the shell history and process list)."""
    from server.enums import OAuthProviderKind
    from server.oauth.providers import put_provider
    from server.oauth.schemas import OAuthProviderPut
    from server.organizations.service import get_organization_by_slug

    from_stdin = args.client_secret == STDIN
    secret = sys.stdin.readline().strip() if from_stdin else args.client_secret
    try:
        data = msgspec.convert(
            {
                "client_id": args.client_id,
                "client_secret": secret,
                "issuer": args.issuer,
                "name": args.name,
                "enabled": not args.disable,
            },
            OAuthProviderPut,
        )
    except msgspec.ValidationError as exc:
        raise Invalid(str(exc)) from exc
    keyring = Keyring(settings.secret_keys)

    async def work() -> dict[str, Any]:
        org = await get_organization_by_slug(args.org)
        row = await put_provider(
            org.id,
            OAuthProviderKind(args.provider),
            data,
            keyring=keyring,
            allow_local=settings.allow_local_oauth,
        )
        return _oauth_out(row, org.slug, settings)

    out = _run_db(settings, work)
    if args.json:
        print(json.dumps(out))
    else:
        _print_provider(out)
    return 0


def cmd_oauth_list(args: argparse.Namespace, settings: Settings) -> int:
    from server.oauth.providers import list_providers
    from server.organizations.service import get_organization_by_slug

    async def work() -> list[dict[str, Any]]:
        org = await get_organization_by_slug(args.org)
        return [_oauth_out(row, org.slug, settings) for row in await list_providers(org.id)]

    found = _run_db(settings, work)
    if args.json:
        print(json.dumps(found))
    elif not found:
        print(f"{args.org} offers no sign-in provider yet (selfserve oauth set --help)")
    for out in [] if args.json else found:
        _print_provider(out)
    return 0


def cmd_oauth_delete(args: argparse.Namespace, settings: Settings) -> int:
    from server.enums import OAuthProviderKind
    from server.oauth.providers import delete_provider
    from server.organizations.service import get_organization_by_slug

    async def work() -> None:
        org = await get_organization_by_slug(args.org)
        await delete_provider(org.id, OAuthProviderKind(args.provider))

    _run_db(settings, work)
    print(f"{args.org} no longer offers {args.provider} sign-in; connected accounts stay")
    return 0


def _print_payment_provider(out: dict[str, Any], org_slug: str) -> None:
    if out["provider"] == "sandbox":
        print(f"{org_slug} takes sandbox test cards (no money moves)")
        return
    print(
        printable(
            f"{org_slug} takes cards through Stripe: publishable key {out['publishable_key']}, "
            f"secret key ending in {out['secret_key_last4']}"
        )
    )
    print(f"  webhook URL to register in Stripe: {out['webhook_url']}")


def _payment_provider_out(config: Any, org_slug: str, settings: Settings) -> dict[str, Any]:
    from server.billing.payment_providers import describe

    printed: dict[str, Any] = json.loads(
        msgspec.json.encode(describe(config, public_url=settings.public_url, org_slug=org_slug))
    )
    return printed


def cmd_provider_set(args: argparse.Namespace, settings: Settings) -> int:
    """Choose a merchant's card processor, as ``PUT /v1/payment-provider`` does. ``-`` as a secret reads it
    from standard input, one line each in the order secret key, webhook secret."""
    from server.billing.payment_providers import put_provider
    from server.billing.schemas import PaymentProviderPut
    from server.organizations.service import get_organization_by_slug

    secrets = {"secret_key": args.secret_key, "webhook_secret": args.webhook_secret}
    for name, value in secrets.items():
        if value == STDIN:
            secrets[name] = sys.stdin.readline().strip()
    try:
        data = msgspec.convert(
            {
                "provider": "stripe" if args.stripe else "sandbox",
                "publishable_key": args.publishable_key,
                **secrets,
            },
            PaymentProviderPut,
        )
    except msgspec.ValidationError as exc:
        raise Invalid(str(exc)) from exc
    keyring = Keyring(settings.secret_keys)

    async def work() -> dict[str, Any]:
        org = await get_organization_by_slug(args.org)
        return _payment_provider_out(await put_provider(org.id, data, keyring=keyring), org.slug, settings)

    out = _run_db(settings, work)
    if args.json:
        print(json.dumps(out))
    else:
        _print_payment_provider(out, args.org)
    return 0


def cmd_provider_show(args: argparse.Namespace, settings: Settings) -> int:
    from server.billing.payment_providers import get_config
    from server.organizations.service import get_organization_by_slug

    async def work() -> dict[str, Any]:
        org = await get_organization_by_slug(args.org)
        return _payment_provider_out(await get_config(org.id), org.slug, settings)

    out = _run_db(settings, work)
    if args.json:
        print(json.dumps(out))
    else:
        _print_payment_provider(out, args.org)
    return 0


def cmd_rotate_secrets(args: argparse.Namespace, settings: Settings) -> int:
    """Seal every encrypted column again under the newest secret key, in batches, while the server runs."""
    from server.security.rotation import rotate_secrets

    if args.batch_size < 1:
        print("selfserve: --batch-size must be at least 1", file=sys.stderr)
        return 2
    box = Keyring(settings.secret_keys).box
    results = _run_db(settings, lambda: rotate_secrets(box, args.batch_size))
    for result in results:
        line = (
            f"{result.column}: {result.rotated} re-encrypted, {result.current} already under the newest key"
        )
        print(line + (f", {result.unreadable} UNREADABLE" if result.unreadable else ""))
    if any(result.unreadable for result in results):
        print(
            "selfserve: some secrets were sealed with a key that is no longer in SELFSERVE_SECRET_KEYS; "
            "put it back (oldest first) and run rotate-secrets again",
            file=sys.stderr,
        )
        return 1
    print("Every secret is sealed under the newest key; older keys can leave SELFSERVE_SECRET_KEYS once")
    print(
        "every API key in use has been used since (each is re-hashed on its first use; see docs/security.md)."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfserve", description="Self-hostable, embeddable customer portal."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-worker", action="store_true", help="do not run background jobs in this process")
    serve.add_argument("--ssl-keyfile", help="serve HTTPS with this private key (PEM)")
    serve.add_argument("--ssl-certfile", help="serve HTTPS with this certificate chain (PEM)")
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)
    worker = commands.add_parser("worker", help="run background jobs only (webhooks, billing, email)")
    worker.set_defaults(handler=cmd_worker)

    demo = commands.add_parser(
        "demo", help="seed the demo merchant Acme and serve it with a demo merchant app"
    )
    demo.add_argument("--port", type=int, default=8000, help="portal server port")
    demo.add_argument("--merchant-port", type=int, default=8001, help="demo merchant app port")
    demo.set_defaults(handler=cmd_demo)

    org = commands.add_parser("org", help="merchants").add_subparsers(dest="org_command", required=True)
    org_create = org.add_parser("create", help="create a merchant and print its secrets once")
    org_create.add_argument("--name", required=True)
    org_create.add_argument("--slug")
    org_create.add_argument("--origin", action="append", help="allowed embed origin (repeatable)")
    org_create.add_argument("--json", action="store_true")
    org_create.set_defaults(handler=cmd_org_create)

    apikey = commands.add_parser("apikey", help="secret API keys").add_subparsers(
        dest="key_command", required=True
    )
    apikey_create = apikey.add_parser("create", help="create a secret API key")
    apikey_create.add_argument("--org", required=True, help="organization slug")
    apikey_create.add_argument("--name", default="")
    apikey_create.add_argument("--json", action="store_true")
    apikey_create.set_defaults(handler=cmd_apikey_create)

    token = commands.add_parser("token", help="mint a portal token offline and print it with the portal URL")
    token.add_argument("--org", required=True, help="organization slug")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", help="customer id")
    who.add_argument("--external-id", help="your own id for the customer")
    token.add_argument("--ttl", type=int, help="lifetime in seconds (60 to 86400; default: portal settings)")
    token.add_argument("--view", action="append", help="limit the token to this view (repeatable)")
    token.add_argument("--json", action="store_true")
    token.set_defaults(handler=cmd_token)

    staff = commands.add_parser("staff", help="merchant staff of the console").add_subparsers(
        dest="staff_command", required=True
    )
    staff_add = staff.add_parser("add", help="let someone sign in to a merchant's console")
    staff_add.add_argument("--org", required=True, help="organization slug")
    staff_add.add_argument("--email", required=True)
    staff_add.add_argument("--role", required=True, help="owner, admin, support or viewer")
    staff_add.add_argument("--name", default="")
    staff_add.set_defaults(handler=cmd_staff_add)

    oauth = commands.add_parser("oauth", help="sign-in providers (GitHub, Google, OpenID Connect)")
    oauth_commands = oauth.add_subparsers(dest="oauth_command", required=True)
    providers = ("github", "google", "oidc")
    oauth_set = oauth_commands.add_parser("set", help="offer sign-in with a provider (or change it)")
    oauth_set.add_argument("--org", required=True, help="organization slug")
    oauth_set.add_argument("--provider", required=True, choices=providers)
    oauth_set.add_argument("--client-id", required=True, help="the client (app) id the provider gave you")
    oauth_set.add_argument(
        "--client-secret", help="its secret (required the first time; - reads it from standard input)"
    )
    oauth_set.add_argument("--issuer", help="oidc only: the issuer URL (its discovery document is read)")
    oauth_set.add_argument("--name", help='oidc only: the name on the button ("Continue with NAME")')
    oauth_set.add_argument("--disable", action="store_true", help="keep the settings but do not offer it")
    oauth_set.add_argument("--json", action="store_true")
    oauth_set.set_defaults(handler=cmd_oauth_set)
    oauth_list = oauth_commands.add_parser("list", help="the providers a merchant offers")
    oauth_list.add_argument("--org", required=True, help="organization slug")
    oauth_list.add_argument("--json", action="store_true")
    oauth_list.set_defaults(handler=cmd_oauth_list)
    oauth_delete = oauth_commands.add_parser("delete", help="stop offering a provider")
    oauth_delete.add_argument("--org", required=True, help="organization slug")
    oauth_delete.add_argument("--provider", required=True, choices=providers)
    oauth_delete.set_defaults(handler=cmd_oauth_delete)

    provider = commands.add_parser("provider", help="the card processor of a merchant (sandbox or Stripe)")
    provider_commands = provider.add_subparsers(dest="provider_command", required=True)
    provider_set = provider_commands.add_parser("set", help="connect Stripe, or go back to the sandbox")
    provider_set.add_argument("--org", required=True, help="organization slug")
    which = provider_set.add_mutually_exclusive_group(required=True)
    which.add_argument("--stripe", action="store_true", help="take cards through Stripe")
    which.add_argument("--sandbox", action="store_true", help="take sandbox test cards (forgets Stripe keys)")
    provider_set.add_argument("--secret-key", help="Stripe secret key (sk_...), or - to read it from stdin")
    provider_set.add_argument("--publishable-key", help="Stripe publishable key (pk_...)")
    provider_set.add_argument(
        "--webhook-secret", help="signing secret of the Stripe webhook endpoint (whsec_...), or - for stdin"
    )
    provider_set.add_argument("--json", action="store_true")
    provider_set.set_defaults(handler=cmd_provider_set)
    provider_show = provider_commands.add_parser("show", help="the merchant's card processor")
    provider_show.add_argument("--org", required=True, help="organization slug")
    provider_show.add_argument("--json", action="store_true")
    provider_show.set_defaults(handler=cmd_provider_show)

    analytics = commands.add_parser("analytics", help="how customers use the portal, as a report")
    analytics.add_argument("--org", required=True, help="organization slug")
    analytics.add_argument("--days", type=int, default=30, help="how many days back (1 to 366; default 30)")
    analytics.set_defaults(handler=cmd_analytics)

    rotate = commands.add_parser(
        "rotate-secrets", help="re-encrypt every stored secret under the newest SELFSERVE_SECRET_KEYS entry"
    )
    rotate.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
    rotate.set_defaults(handler=cmd_rotate_secrets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        from server.billing.payment_providers import configure as configure_payment_providers

        configure_payment_providers(settings, Keyring(settings.secret_keys))
        handler: Handler = args.handler
        return handler(args, settings)
    except SettingsError as exc:
        print(f"selfserve: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"selfserve: {printable(exc.detail)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
