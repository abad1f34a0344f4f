"""A promotion code is unique per merchant whatever its case: two codes differing only in case would make what
a customer types ambiguous, and a create racing another with the same code fails instead of duplicating it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-05T15:07:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "promotion code unique per merchant"

STATEMENTS = (
    "CREATE UNIQUE INDEX ssx_promotion_code_key ON ss_promotion_code (org, code_key)",
    "CREATE INDEX ssx_coupon_redemption_code_customer ON ss_coupon_redemption (promotion_code, customer)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, STATEMENTS, {})
    return manager
