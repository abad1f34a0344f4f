"""Piccolo's configuration module (``PICCOLO_CONF=server.db.piccolo_conf``), used by its migration tools.

The engine follows ``SELFSERVE_DATABASE_URL``; ``server.db.migrate.migrate`` replaces ``DB`` with the
engine of the settings it is given.
"""

import os

from piccolo.conf.apps import AppRegistry

from server.db.engine import DEFAULT_DATABASE_URL, engine_from_url

DB = engine_from_url(os.environ.get("SELFSERVE_DATABASE_URL", DEFAULT_DATABASE_URL))
APP_REGISTRY = AppRegistry(apps=["server.db.piccolo_app"])
