"""Composite unique constraints and multi-column indexes (portable SQL for SQLite and PostgreSQL)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-21T07:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite constraints and indexes"

STATEMENTS = (
    "CREATE UNIQUE INDEX ssx_customer_org_external_id ON ss_customer (org, external_id) "
    "WHERE external_id IS NOT NULL",
    "CREATE INDEX ssx_customer_org_email ON ss_customer (org, email)",
    "CREATE UNIQUE INDEX ssx_usage_event_org_dedupe ON ss_usage_event (org, dedupe_key) "
    "WHERE dedupe_key IS NOT NULL",
    "CREATE INDEX ssx_usage_event_customer_name_time ON ss_usage_event (customer, name, occurred_at)",
    "CREATE UNIQUE INDEX ssx_usage_rollup_customer_name_day ON ss_usage_rollup (customer, name, day)",
    "CREATE UNIQUE INDEX ssx_meter_org_event_name ON ss_meter (org, event_name) WHERE archived_at IS NULL",
    "CREATE UNIQUE INDEX ssx_payment_method_one_default ON ss_payment_method (customer) WHERE is_default",
    "CREATE UNIQUE INDEX ssx_order_org_invoice_number ON ss_order (org, invoice_number) "
    "WHERE invoice_number IS NOT NULL",
    "CREATE INDEX ssx_order_customer_created ON ss_order (customer, created_at)",
    "CREATE INDEX ssx_order_next_attempt ON ss_order (status, next_payment_attempt_at)",
    "CREATE UNIQUE INDEX ssx_wallet_customer_currency ON ss_wallet (customer, currency)",
    "CREATE INDEX ssx_wallet_transaction_wallet_created ON ss_wallet_transaction (wallet, created_at)",
    "CREATE UNIQUE INDEX ssx_idempotency_org_key ON ss_idempotency_record (org, key)",
    "CREATE UNIQUE INDEX ssx_product_benefit_pair ON ss_product_benefit (product, benefit)",
    "CREATE UNIQUE INDEX ssx_seat_live_email ON ss_seat (subscription, email) WHERE status <> 'revoked'",
    "CREATE INDEX ssx_subscription_due ON ss_subscription (status, current_period_end)",
    "CREATE INDEX ssx_subscription_customer_status ON ss_subscription (customer, status)",
    "CREATE INDEX ssx_webhook_delivery_due ON ss_webhook_delivery (status, next_attempt_at)",
    "CREATE INDEX ssx_email_message_due ON ss_email_message (status, next_attempt_at)",
    "CREATE INDEX ssx_portal_event_org_created ON ss_portal_event (org, created_at)",
    "CREATE INDEX ssx_portal_event_customer_created ON ss_portal_event (customer, created_at)",
    "CREATE INDEX ssx_benefit_grant_customer ON ss_benefit_grant (customer, revoked_at)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)

    async def run() -> None:
        from piccolo.apps.migrations.tables import Migration

        for statement in STATEMENTS:
            await Migration.raw(statement).run()

    manager.add_raw(run)
    return manager
