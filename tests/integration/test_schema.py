"""Every table and column of the domain schema exists after migrating an empty database."""

from server.db.migrate import migrate
from server.db.tables import TABLES


async def _existing_columns(engine, db_kind, tablename):
    if db_kind == "sqlite":
        rows = await engine.run_ddl(f"PRAGMA table_info({tablename})")
        return {r["name"] for r in rows}
    rows = await engine.run_ddl(
        f"SELECT column_name FROM information_schema.columns WHERE table_name = '{tablename}'"
    )
    return {r["column_name"] for r in rows}


async def test_every_table_and_column_exists(engine, db_kind):
    assert len(TABLES) >= 30
    for table in TABLES:
        expected = {c._meta.db_column_name for c in table._meta.columns}
        existing = await _existing_columns(engine, db_kind, table._meta.tablename)
        assert expected <= existing, f"{table._meta.tablename} lacks {expected - existing}"


async def test_tables_carry_the_prefix():
    assert all(t._meta.tablename.startswith("ss_") for t in TABLES)


async def test_migrating_twice_applies_nothing(engine):
    assert await migrate(engine) == []
