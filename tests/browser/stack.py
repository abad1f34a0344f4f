"""The real servers the browser tests drive, in a process of their own (its own event loop and bound tables):
``python -m tests.browser.stack DATA_DIR DATABASE_URL PORTAL_PORT MERCHANT_PORT SMTP_URL WEBHOOK_URL
ORIGIN...``.

It migrates a fresh database (SQLite or PostgreSQL), seeds the demo merchant, allows ``ORIGIN...`` to embed
it, registers a webhook endpoint for every event type at ``WEBHOOK_URL``, prints one JSON line (org, keys,
customers, the webhook secret) for the tests, then serves the portal server (with its background worker, so
mail goes to ``SMTP_URL`` and webhooks are delivered) and the demo merchant app until it is killed. The
worker polls mail and webhooks every ``POLL_SECONDS`` instead of every few seconds, so journeys wait less.
Sign-in providers may live on this machine; GitHub's endpoints are ``SELFSERVE_GITHUB_OAUTH_BASE`` and
``SELFSERVE_GITHUB_API_BASE`` from the environment (the stand-in the fixtures start), Stripe's are
``SELFSERVE_STRIPE_API_BASE`` and ``SELFSERVE_STRIPE_JS_URL`` (localstripe, for a test that connects Stripe).

Two numbers differ from a production server, both to fit a test run: every journey's browser comes from
127.0.0.1, so the sign-in limits per IP and per email are ``JOURNEY_LOGIN_LIMITS`` (a whole run signs in more
than 12 times an hour); the limits themselves are tested in tests/integration/hosted/test_abuse.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn

from server.access_log import log_config
from server.app import create_app
from server.auth import magic_links
from server.db.engine import bind_tables, engine_from_url, open_engine
from server.db.migrate import migrate
from server.db.tables import Customer, Organization
from server.demo.merchant import MerchantConfig, create_merchant_app
from server.demo.seed import DEMO_ORIGINS, seed_demo
from server.jobs import JOBS
from server.organizations.service import normalize_origins
from server.security.keyring import Keyring
from server.security.ratelimit import Limit
from server.settings import Settings
from server.webhooks.endpoints import create_endpoint
from server.webhooks.schemas import WebhookEndpointCreate

HOST = "127.0.0.1"
SECRET_KEY = "browser-test-secret-key-" + "b" * 32
POLL_SECONDS = 0.1
QUICK_JOBS = ("email", "webhook-delivery")
JOURNEY_LOGIN_LIMITS = (Limit(hits=1000, window_seconds=60),)
SERVER_LOG = "server.log"


def _logging(log: Path) -> dict[str, Any]:
    """``selfserve serve``'s logging (its access log with credentials redacted) into ``log``, with the
    server's own lines from INFO up, for a test to read all it logged; warnings and errors show on stderr
    too."""
    config = log_config()
    handlers = config["handlers"]
    handlers["default"]["level"] = "WARNING"
    handlers["access"] = {**handlers["access"], "class": "logging.FileHandler", "filename": str(log)}
    del handlers["access"]["stream"]
    handlers["file"] = {"formatter": "default", "class": "logging.FileHandler", "filename": str(log)}
    config["loggers"]["uvicorn"]["handlers"].append("file")
    config["root"] = {"handlers": ["default", "file"], "level": "INFO"}
    return config


def _quick_jobs() -> None:
    JOBS[:] = [replace(job, idle_seconds=POLL_SECONDS) if job.name in QUICK_JOBS else job for job in JOBS]


async def main(
    data_dir: Path,
    database_url: str,
    ports: tuple[int, int],
    smtp_url: str,
    webhook_url: str,
    origins: list[str],
) -> None:
    portal_port, merchant_port = ports
    portal_url = f"http://{HOST}:{portal_port}"
    merchant_url = f"http://{HOST}:{merchant_port}"
    settings = Settings(
        database_url=database_url,
        secret_keys=(SECRET_KEY,),
        public_url=portal_url,
        data_dir=data_dir,
        smtp_url=smtp_url,
        allow_local_webhooks=True,
        allow_local_oauth=True,
        github_oauth_base=os.environ["SELFSERVE_GITHUB_OAUTH_BASE"],
        github_api_base=os.environ["SELFSERVE_GITHUB_API_BASE"],
        stripe_api_base=os.environ["SELFSERVE_STRIPE_API_BASE"],
        stripe_js_url=os.environ["SELFSERVE_STRIPE_JS_URL"],
    )
    engine = engine_from_url(settings.database_url)
    bind_tables(engine)
    await open_engine(engine)
    await migrate(engine)
    keyring = Keyring(settings.secret_keys)
    created = await seed_demo(keyring)
    assert created is not None, "the browser stack needs a fresh database"
    org = created.org
    await Organization.update(
        {Organization.allowed_origins: normalize_origins([*DEMO_ORIGINS, merchant_url, *origins])}
    ).where(Organization.id == org.id)
    _, webhook_secret = await create_endpoint(
        org.id, keyring, WebhookEndpointCreate(url=webhook_url), allow_local=True
    )
    customers = await Customer.select(Customer.id, Customer.email).where(Customer.org == org.id)
    print(
        json.dumps(
            {
                "portal_url": portal_url,
                "merchant_url": merchant_url,
                "database_url": database_url,
                "server_log": str(data_dir / SERVER_LOG),
                "org_id": str(org.id),
                "slug": org.slug,
                "api_key": created.api_key,
                "embed_secret": created.embed_secret,
                "customers": {row["email"]: str(row["id"]) for row in customers},
                "webhook_secret": webhook_secret,
            }
        ),
        flush=True,
    )
    merchant = create_merchant_app(
        MerchantConfig(
            org_id=org.id, portal_url=portal_url, api_key=created.api_key, merchant_url=merchant_url
        )
    )
    _quick_jobs()
    magic_links.LOGIN_LIMITS = JOURNEY_LOGIN_LIMITS
    logging = _logging(data_dir / SERVER_LOG)
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="info", log_config=config))
        for app, port, config in (
            (create_app(settings, engine=engine, run_worker=True), portal_port, logging),
            (merchant, merchant_port, None),  # logged as the portal server configured it
        )
    ]
    await asyncio.gather(*(server.serve() for server in servers))


if __name__ == "__main__":
    data, database, portal, merchant, smtp, webhook, *allowed = sys.argv[1:]
    asyncio.run(main(Path(data), database, (int(portal), int(merchant)), smtp, webhook, allowed))
