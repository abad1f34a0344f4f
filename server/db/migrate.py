"""Applying the migrations with Piccolo's own runner, configured by ``server.db.piccolo_conf``."""

from __future__ import annotations

import contextlib
import io
import os

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine

from server.db import piccolo_conf


async def migrate(engine: Engine) -> list[str]:  # type: ignore[type-arg]
    """Apply every pending migration to ``engine``; return the ids applied."""
    os.environ["PICCOLO_CONF"] = "server.db.piccolo_conf"
    piccolo_conf.DB = engine
    Migration._meta.db = engine
    await Migration.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]
    before = set(await Migration.get_migrations_which_ran(app_name="selfserve"))
    with contextlib.redirect_stdout(io.StringIO()):
        result = await run_forwards(app_name="selfserve")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
    after = await Migration.get_migrations_which_ran(app_name="selfserve")
    return sorted(set(after) - before)
