"""Portal events by name in time order, and the merchant's own (no customer) in time order: the console home
counts the sessions opened in a window and lists the merchant's activity, and with only (org, created_at) to
go on both walked every event of the org, each view's analytics included (150,000 of them: 31 console pages
a second on SQLite)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-06T01:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "portal events by name and time; the merchant's by time"

STATEMENTS = (
    "CREATE INDEX ssx_portal_event_org_name_created ON ss_portal_event (org, name, created_at)",
    "CREATE INDEX ssx_portal_event_merchant_created ON ss_portal_event (org, created_at) WHERE customer IS NULL",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, STATEMENTS, {})
    return manager
