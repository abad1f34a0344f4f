"""The cache-version triggers of the payment provider (which card form the settings view shows, and the
Stripe confirmation of the orders and subscriptions views) and of staff (the activity log names who acted);
see 2026-11-21T09:00. A cached view read both without them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-05T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cache-version triggers: payment provider, staff"

SCOPED = {
    "ss_payment_provider": ("{row}.org",),
    "ss_staff": ("{row}.org",),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, (), SCOPED)
    return manager
