"""The unique key of ss_spend_cap_hit (one ``usage.cap_reached`` per subscription and period, however many
ingestion batches reach the cap at once) and the cache-version triggers of both spend cap tables: the usage
view shows the cap and whether it is reached (see 2026-11-21T09:00)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-05T10:00:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "spend cap constraints and cache-version triggers"

STATEMENTS = (
    "CREATE UNIQUE INDEX ssx_spend_cap_hit_once ON ss_spend_cap_hit (subscription, period_start)",
)
SCOPED = {
    "ss_spend_cap": ("{row}.customer",),
    "ss_spend_cap_hit": ("{row}.customer",),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, STATEMENTS, SCOPED)
    return manager
