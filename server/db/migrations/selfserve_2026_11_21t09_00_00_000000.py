"""ss_cache_version: one number per customer and per merchant, bumped by triggers whenever a row a portal
view shows changes, whoever writes it (a portal action, the merchant API, the worker, another process).
A cached view is keyed by these numbers, so it can never outlive the data it was built from.

On PostgreSQL the triggers are deferred to commit: the bump takes its row lock last, after every other lock
of the transaction, so it cannot form a lock cycle with them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-21T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cache versions bumped by triggers"

ANALYTICS_NAMES = "('session.opened', 'view.opened', 'action', 'cancel.started', 'cancel.reason_chosen', " + (
    "'cancel.completed')"
)
CUSTOMER_SCOPED: dict[str, tuple[str, ...]] = {
    "ss_customer": ("{row}.id",),
    "ss_subscription": ("{row}.customer",),
    "ss_order": ("{row}.customer",),
    "ss_refund": ("{row}.customer",),
    "ss_payment_method": ("{row}.customer",),
    "ss_wallet": ("{row}.customer",),
    "ss_wallet_transaction": ("{row}.customer",),
    "ss_benefit_grant": ("{row}.customer",),
    "ss_usage_rollup": ("{row}.customer",),
    "ss_seat": ("(SELECT customer FROM ss_subscription WHERE id = {row}.subscription)", "{row}.member"),
    "ss_order_line": ('(SELECT customer FROM ss_order WHERE id = {row}."order")',),
    "ss_invoice_document": ('(SELECT customer FROM ss_order WHERE id = {row}."order")',),
    # The activity log shows in settings; analytics rows (one per view opened) change nothing a view shows.
    "ss_portal_event": (f"CASE WHEN {{row}}.name IN {ANALYTICS_NAMES} THEN NULL ELSE {{row}}.customer END",),
}
ORG_SCOPED: dict[str, tuple[str, ...]] = {
    "ss_organization": ("{row}.id",),
    "ss_meter": ("{row}.org",),
    "ss_product": ("{row}.org",),
    "ss_price": ("{row}.org",),
    "ss_price_meter": ("{row}.org",),
    "ss_file": ("{row}.org",),
    "ss_benefit": ("{row}.org",),
    "ss_product_benefit": ("{row}.org",),
}
UPDATE_COLUMNS = {
    # The invoice counter moves with every order; nothing a view shows depends on it.
    "ss_organization": (
        "name, slug, legal_address, support_email, default_currency, branding, portal_settings, "
        "allowed_origins, embed_secret_encrypted, invoice_prefix"
    ),
}
TABLE = "CREATE TABLE ss_cache_version (scope UUID PRIMARY KEY NOT NULL, version BIGINT NOT NULL DEFAULT 0)"


def _bump(scopes: tuple[str, ...], row: str) -> str:
    selects = " UNION ALL ".join(f"SELECT {scope.format(row=row)} AS scope" for scope in scopes)
    return (
        f"INSERT INTO ss_cache_version (scope, version) SELECT scope, 1 FROM ({selects}) AS changed "
        "WHERE scope IS NOT NULL "
        "ON CONFLICT (scope) DO UPDATE SET version = ss_cache_version.version + 1"
    )


def sqlite_statements(table: str, scopes: tuple[str, ...]) -> list[str]:
    update = f"UPDATE OF {UPDATE_COLUMNS[table]}" if table in UPDATE_COLUMNS else "UPDATE"
    return [
        f"CREATE TRIGGER ssv_{table}_{name} AFTER {event} ON {table} BEGIN {_bump(scopes, row)}; END"
        for name, event, row in (("ins", "INSERT", "NEW"), ("upd", update, "NEW"), ("del", "DELETE", "OLD"))
    ]


def postgres_statements(table: str, scopes: tuple[str, ...]) -> list[str]:
    update = f"UPDATE OF {UPDATE_COLUMNS[table]}" if table in UPDATE_COLUMNS else "UPDATE"
    return [
        f"CREATE FUNCTION ssv_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE r record; BEGIN IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF; "
        f"{_bump(scopes, 'r')}; RETURN NULL; END $$",
        f"CREATE CONSTRAINT TRIGGER ssv_{table} AFTER INSERT OR {update} OR DELETE ON {table} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ssv_{table}()",
    ]


def add_statements_and_triggers(
    manager: MigrationManager, statements: tuple[str, ...], scoped: dict[str, tuple[str, ...]]
) -> None:
    """For a later migration: run ``statements``, then give each table of ``scoped`` (table → the scopes
    its rows bump, as above) its cache-version triggers."""

    async def run() -> None:
        from piccolo.apps.migrations.tables import Migration
        from piccolo.engine.postgres import PostgresEngine

        triggers = postgres_statements if isinstance(Migration._meta.db, PostgresEngine) else sqlite_statements
        for statement in [*statements, *(t for table, scopes in scoped.items() for t in triggers(table, scopes))]:
            await Migration.raw(statement).run()

    manager.add_raw(run)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)

    async def run() -> None:
        from piccolo.apps.migrations.tables import Migration
        from piccolo.engine.postgres import PostgresEngine

        on_postgres = isinstance(Migration._meta.db, PostgresEngine)
        statements = [TABLE]
        for table, scopes in {**CUSTOMER_SCOPED, **ORG_SCOPED}.items():
            statements += (postgres_statements if on_postgres else sqlite_statements)(table, scopes)
        for statement in statements:
            await Migration.raw(statement).run()

    manager.add_raw(run)
    return manager
