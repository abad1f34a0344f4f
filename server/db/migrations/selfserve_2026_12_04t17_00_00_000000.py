"""ss_order.last_payment_error: why the latest charge of an unpaid order failed, in the provider's words, so
the portal can say what happened next to the way to fix it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order last payment error"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Order",
        tablename="ss_order",
        column_name="last_payment_error",
        db_column_name="last_payment_error",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 300,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
