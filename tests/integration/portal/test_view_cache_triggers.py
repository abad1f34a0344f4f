"""Every table a cached view reads has the cache-version triggers: each view of each demo customer is rendered
with every SQL statement traced, and a table read without triggers would serve a stale view after a change
to it (until the entry ages out). The triggers are the same on both databases (one migration list), so this
reads them on SQLite, whose connections can be traced."""

from __future__ import annotations

import re
import sqlite3
import uuid

import pytest

from server.db.tables import Customer
from server.demo.seed import seed_demo
from server.tokens import mint_portal_token
from widgets import VIEWS

TABLE = re.compile(r"\bss_[a-z_]+\b")
READ_ON_EVERY_REQUEST = {"ss_session", "ss_cache_version"}
"""What decides whether a cached fragment may be served at all, not part of it."""


@pytest.fixture
async def traced(engine, monkeypatch):
    """The SELECT statements run from now on, on connections opened from now on (the idle ones are closed)."""
    if not hasattr(engine, "close_idle"):
        pytest.skip("the triggers are read on SQLite; PostgreSQL's come from the same migrations")
    statements: list[str] = []
    connect = sqlite3.connect

    def traced_connect(*args, **kwargs):
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced_connect)
    await engine.close_idle()
    yield statements
    monkeypatch.undo()
    await engine.close_idle()


async def _triggered(engine) -> set[str]:
    rows = await engine.run_statement(
        "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ssv_%'", []
    )
    return {row["tbl_name"] for row in rows}


async def test_every_table_a_cached_view_reads_bumps_the_cache_version(app, client, engine, keyring, traced):
    demo = await seed_demo(keyring, slug=f"triggers-{uuid.uuid4().hex[:8]}", name="Acme")
    assert demo is not None
    customers = await Customer.select(Customer.id).where(Customer.org == demo.org.id)
    read: dict[str, set[str]] = {}
    for customer in customers:
        token = mint_portal_token(org_id=demo.org.id, customer_id=customer["id"], secret=demo.embed_secret)
        opened = await client.post("/embed/session", json={"token": token, "origin": "http://127.0.0.1:8001"})
        assert opened.status_code == 201, opened.text
        headers = {"Authorization": f"Bearer {opened.json()['session']}"}
        for slug in VIEWS:
            app.state.view_cache._entries.clear()  # rendered, not served from memory
            traced.clear()
            response = await client.get(f"/embed/views/{slug}", headers=headers)
            assert response.status_code == 200, response.text[:300]
            for statement in traced:
                if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    for table in TABLE.findall(statement):
                        read.setdefault(table, set()).add(slug)
    assert {"ss_subscription", "ss_order", "ss_wallet_transaction"} <= set(read)  # the trace saw the views
    triggered = await _triggered(engine)
    untriggered = {
        table: sorted(views)
        for table, views in read.items()
        if table not in triggered and table not in READ_ON_EVERY_REQUEST
    }
    assert untriggered == {}, "tables read by cached views without cache-version triggers"
