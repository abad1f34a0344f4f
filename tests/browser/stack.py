"""The real servers the browser tests drive, in a process of their own (its own event loop and bound tables):
``python -m tests.browser.stack DATA_DIR DATABASE_URL PORTAL_PORT MERCHANT_PORT ORIGIN...``.

It migrates a fresh database (SQLite or PostgreSQL), seeds the demo merchant, allows ``ORIGIN...`` to embed
it, prints one JSON line (org, keys, customers) for the tests, then serves the portal server (with its
background worker, so webhooks are delivered) and the demo merchant app until it is killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import uvicorn

from server.app import create_app
from server.db.engine import bind_tables, engine_from_url, migrate, open_engine
from server.db.tables import Customer, Organization
from server.demo.merchant import MerchantConfig, create_merchant_app
from server.demo.seed import DEMO_ORIGINS, seed_demo
from server.security.keyring import Keyring
from server.services.orgs import normalize_origins
from server.settings import Settings

HOST = "127.0.0.1"
SECRET_KEY = "browser-test-secret-key-" + "b" * 32


async def main(
    data_dir: Path, database_url: str, portal_port: int, merchant_port: int, origins: list[str]
) -> None:
    portal_url = f"http://{HOST}:{portal_port}"
    merchant_url = f"http://{HOST}:{merchant_port}"
    settings = Settings(
        database_url=database_url,
        secret_keys=(SECRET_KEY,),
        public_url=portal_url,
        data_dir=data_dir,
        allow_local_webhooks=True,
    )
    engine = engine_from_url(settings.database_url)
    bind_tables(engine)
    await open_engine(engine)
    await migrate(engine)
    created = await seed_demo(Keyring(settings.secret_keys))
    assert created is not None, "the browser stack needs a fresh database"
    org = created.org
    await Organization.update(
        {Organization.allowed_origins: normalize_origins([*DEMO_ORIGINS, merchant_url, *origins])}
    ).where(Organization.id == org.id)
    customers = await Customer.select(Customer.id, Customer.email).where(Customer.org == org.id)
    print(
        json.dumps(
            {
                "portal_url": portal_url,
                "merchant_url": merchant_url,
                "org_id": str(org.id),
                "slug": org.slug,
                "api_key": created.api_key,
                "embed_secret": created.embed_secret,
                "customers": {row["email"]: str(row["id"]) for row in customers},
            }
        ),
        flush=True,
    )
    merchant = create_merchant_app(
        MerchantConfig(
            org_id=org.id, portal_url=portal_url, api_key=created.api_key, merchant_url=merchant_url
        )
    )
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning"))
        for app, port in (
            (create_app(settings, engine=engine, run_worker=True), portal_port),
            (merchant, merchant_port),
        )
    ]
    await asyncio.gather(*(server.serve() for server in servers))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]))
