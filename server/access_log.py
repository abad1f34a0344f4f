"""The access log of ``selfserve serve`` (uvicorn's), with every credential in a request target redacted;
the server's own error lines name paths through ``redact_target`` too.

Sign-in, portal and seat-claim tokens travel in URL fragments or POST bodies, which no access log sees; what
can reach a request line is a download link (``/embed/documents/<token>``) or a secret someone put in a
query string. Both are logged as ``[redacted]``.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from server.paths import DOCUMENTS_PREFIX as DOCUMENTS

REDACTED = "[redacted]"
CREDENTIAL_PATHS = (re.compile("^(" + re.escape(DOCUMENTS) + r")[^/?]+$"),)
"""Paths whose last segment is a credential (the download links, not the paths that ask for one)."""
CREDENTIAL_PARAMS = frozenset({"token", "secret", "key", "api_key", "code", "signature", "password"})


def redact_target(target: str) -> str:
    """``target`` (path and query, as uvicorn logs it) with credentials replaced by ``[redacted]``."""
    path, separator, query = target.partition("?")
    for pattern in CREDENTIAL_PATHS:
        path = pattern.sub(lambda match: match.group(1) + REDACTED, path)
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(name.lower() in CREDENTIAL_PARAMS for name, _ in pairs):
            query = urlencode(
                [(n, REDACTED if n.lower() in CREDENTIAL_PARAMS else v) for n, v in pairs], safe="[]"
            )
    return path + separator + query


class RedactCredentials(logging.Filter):
    """Rewrites the target of uvicorn's access records: ``(client, method, target, version, status)``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, target, version, status = record.args
            record.args = (client, method, redact_target(str(target)), version, status)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with ``RedactCredentials`` on its access handler.

    The filter is named, not passed: each ``--workers`` child unpickles this before it answers uvicorn's
    health ping, so it must import nothing heavy (this module stays free of the app)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = {"()": f"{__name__}.RedactCredentials"}
    config["handlers"]["access"]["filters"] = ["redact_credentials"]
    return config
