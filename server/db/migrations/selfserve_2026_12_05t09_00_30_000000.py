"""The unique key of ss_usage_alert_hit (one notification per alert, subscription, meter and period, however
many ingestion batches reach it at once) and the cache-version triggers of both usage alert tables: the usage
view lists a customer's alerts and the merchant's defaults (see 2026-11-21T09:00)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.migrations.selfserve_2026_11_21t09_00_00_000000 import add_statements_and_triggers

ID = "2026-12-05T09:00:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "usage alert constraints and cache-version triggers"

STATEMENTS = (
    "CREATE UNIQUE INDEX ssx_usage_alert_hit_once ON ss_usage_alert_hit (alert, subscription, meter, period_start)",
    "CREATE INDEX ssx_usage_alert_org_customer ON ss_usage_alert (org, customer)",
)
SCOPED = {
    # a merchant's default alert (no customer) shows in every customer's view: it bumps the merchant
    "ss_usage_alert": ("COALESCE({row}.customer, {row}.org)",),
    "ss_usage_alert_hit": ("{row}.customer",),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    add_statements_and_triggers(manager, STATEMENTS, SCOPED)
    return manager
