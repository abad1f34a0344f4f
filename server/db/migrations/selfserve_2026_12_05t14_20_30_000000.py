"""The cache-version triggers of ss_data_export: the settings view shows an export's progress and its download
(see 2026-11-21T09:00)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-05T14:20:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "data export cache-version triggers"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, (), {"ss_data_export": ("{row}.customer",)})
    return manager
