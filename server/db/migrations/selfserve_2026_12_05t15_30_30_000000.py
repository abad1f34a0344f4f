"""An order already waiting for its customer's 3-D Secure confirmation (its last payment error said so) says it
in ss_order.awaits_confirmation; a processor's refund is recorded once per merchant (see 2026-12-05T15:30)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-05T15:30:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "order awaits confirmation backfilled, refund provider_ref unique"

STATEMENTS = (
    "UPDATE ss_order SET awaits_confirmation = TRUE WHERE status = 'pending' AND payment_ref <> '' "
    "AND last_payment_error = 'The bank asks you to confirm this payment.'",
    "CREATE UNIQUE INDEX ssx_refund_provider_ref ON ss_refund (org, provider_ref)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, STATEMENTS, {})
    return manager
