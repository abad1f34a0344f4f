"""The PostgreSQL pool's reset on release skips asyncpg's four statements but still rolls back a
transaction a connection was given back in."""

import asyncpg
import pytest

from server.db import engine as engine_module


async def test_a_connection_given_back_mid_transaction_comes_back_clean(engine, db_kind, database_url):
    if db_kind != "postgres":
        pytest.skip("PostgreSQL only")
    assert engine.pool._reset is engine_module._nothing_to_reset
    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=1, reset=engine_module._nothing_to_reset
    )
    try:
        async with pool.acquire() as connection:
            pid = connection.get_server_pid()
            await connection.execute("BEGIN")
            await connection.execute("UPDATE ss_organization SET name = 'never committed'")
        async with pool.acquire() as connection:
            assert connection.get_server_pid() == pid  # the same connection, given back
            assert not connection.is_in_transaction()
            assert (
                await connection.fetchval(
                    "SELECT count(*) FROM ss_organization WHERE name = 'never committed'"
                )
                == 0
            )
    finally:
        await pool.close()
