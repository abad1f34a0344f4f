"""Lines of orders issued before tax was computed keep their amount as their net, and the cache-version
triggers of the tax tables (rates and registrations change what every preview of the merchant shows) and of
credit notes (the orders view lists them); see 2026-11-21T09:00."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-05T12:00:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "tax: line nets, credit note numbers, cache-version triggers"

STATEMENTS = (
    "UPDATE ss_order_line SET net = amount",
    "CREATE UNIQUE INDEX ssx_credit_note_number ON ss_credit_note (org, number)",
    "CREATE INDEX ssx_tax_rate_org_country ON ss_tax_rate (org, country)",
)
SCOPED = {
    "ss_tax_rate": ("{row}.org",),
    "ss_tax_registration": ("{row}.org",),
    "ss_credit_note": ("{row}.customer",),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, STATEMENTS, SCOPED)
    return manager
