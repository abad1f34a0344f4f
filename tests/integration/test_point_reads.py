"""``read_one``: the hot path's one-row reads on the driver give what Piccolo gives, see a transaction's own
writes, and on SQLite fall back to the engine when the file is locked."""

import sqlite3

import pytest

from server.db import point_reads
from server.db.engine import PooledSQLiteEngine, write_transaction
from server.db.point_reads import read_one
from server.db.tables import Organization

_ORG_BY_ID = "SELECT * FROM ss_organization WHERE id = {}"


async def test_a_row_has_the_types_piccolo_gives(org):
    row = await read_one(_ORG_BY_ID, org.org.id)
    expected = await Organization.select().where(Organization.id == org.org.id).first()
    assert row == expected
    assert row["id"] == org.org.id
    assert row["created_at"].tzinfo is not None


async def test_no_row_is_none(org):
    assert await read_one(_ORG_BY_ID + " AND slug = {}", org.org.id, "no-such-slug") is None


async def test_a_transaction_sees_its_own_write(org):
    async with write_transaction():
        await Organization.update({Organization.name: "Renamed in a transaction"}).where(
            Organization.id == org.org.id
        )
        row = await read_one(_ORG_BY_ID, org.org.id)
        assert row is not None
        assert row["name"] == "Renamed in a transaction"


async def test_a_write_is_seen_by_the_next_read(org):
    assert (await read_one(_ORG_BY_ID, org.org.id) or {})["name"] == org.org.name
    await Organization.update({Organization.name: "Renamed"}).where(Organization.id == org.org.id)
    assert (await read_one(_ORG_BY_ID, org.org.id) or {})["name"] == "Renamed"


class _LockedReader:
    def execute(self, *_: object) -> None:
        raise sqlite3.OperationalError("database is locked")


async def test_a_locked_sqlite_file_is_read_through_the_engine(org, engine, monkeypatch):
    if not isinstance(engine, PooledSQLiteEngine):
        pytest.skip("SQLite only")
    monkeypatch.setattr(point_reads, "_sqlite_reader", lambda _engine: _LockedReader())
    row = await read_one(_ORG_BY_ID, org.org.id)
    assert row is not None
    assert row["slug"] == org.org.slug
