"""The unique key of ss_provider_event: a payment provider's event is applied once per merchant, however many
times it is delivered (see 2026-12-05T13:17)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-05T13:17:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "provider event constraints"

STATEMENTS = ("CREATE UNIQUE INDEX ssx_provider_event_once ON ss_provider_event (org, event_id)",)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)

    async def run() -> None:
        from piccolo.apps.migrations.tables import Migration

        for statement in STATEMENTS:
            await Migration.raw(statement).run()

    manager.add_raw(run)
    return manager
