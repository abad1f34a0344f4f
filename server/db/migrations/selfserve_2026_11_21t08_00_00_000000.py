"""ss_order.manual_payment_attempts: portal payment retries are capped per order, apart from dunning's."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-21T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order manual payment attempts"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="selfserve", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Order",
        tablename="ss_order",
        column_name="manual_payment_attempts",
        db_column_name="manual_payment_attempts",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
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
