"""At most one data export under way per customer: two "Download my data" clicks at once make one export."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-05T14:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one live data export per customer"

STATEMENTS = (
    "CREATE UNIQUE INDEX ssx_data_export_one_live ON ss_data_export (customer) "
    "WHERE status IN ('pending', 'running')",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, STATEMENTS, {})
    return manager
