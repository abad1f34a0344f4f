"""The unique pairs of ss_oauth_provider and ss_connected_account, and their cache-version triggers: the
settings view lists a customer's connected accounts and offers the merchant's providers
(see 2026-11-21T09:00)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T15:41:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "oauth constraints and cache-version triggers"

STATEMENTS = (
    "CREATE UNIQUE INDEX ssx_oauth_provider_org_provider ON ss_oauth_provider (org, provider)",
    "CREATE UNIQUE INDEX ssx_connected_account_identity ON ss_connected_account (org, provider, subject)",
    "CREATE UNIQUE INDEX ssx_connected_account_customer ON ss_connected_account (customer, provider)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)

    async def run() -> None:
        from piccolo.apps.migrations.tables import Migration
        from piccolo.engine.postgres import PostgresEngine

        from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import (
            postgres_statements,
            sqlite_statements,
        )

        triggers = postgres_statements if isinstance(Migration._meta.db, PostgresEngine) else sqlite_statements
        statements = [
            *STATEMENTS,
            *triggers("ss_connected_account", ("{row}.customer",)),
            *triggers("ss_oauth_provider", ("{row}.org",)),
        ]
        for statement in statements:
            await Migration.raw(statement).run()

    manager.add_raw(run)
    return manager
