"""One staff member per (org, email) while they are on the team (emails are stored in lower case)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T16:07:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff constraints"

STATEMENTS = (
    "CREATE UNIQUE INDEX ssx_staff_org_email ON ss_staff (org, email) WHERE removed_at IS NULL",
    "CREATE INDEX ssx_staff_email ON ss_staff (email)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)

    async def run() -> None:
        from piccolo.apps.migrations.tables import Migration

        for statement in STATEMENTS:
            await Migration.raw(statement).run()

    manager.add_raw(run)
    return manager
