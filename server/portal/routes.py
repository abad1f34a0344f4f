"""Every route of the customer-facing side, for the app to mount."""

from typing import Any

from server.portal.claim import claim, claim_page
from server.portal.documents import download_document
from server.portal.embed import EmbedController
from server.portal.hosted import hosted_portal
from server.portal.loader import loader_alias, loader_versioned

PORTAL_ROUTE_HANDLERS: list[Any] = [
    EmbedController,
    hosted_portal,
    download_document,
    claim_page,
    claim,
    loader_alias,
    loader_versioned,
]
