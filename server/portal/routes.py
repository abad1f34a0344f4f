"""Every route of the customer-facing side, for the app to mount."""

from typing import Any

from server.portal.claim import claim, claim_page
from server.portal.documents import download_document
from server.portal.embed import EmbedController
from server.portal.hosted import hosted_portal, manifest
from server.portal.loader import loader_alias, loader_versioned
from server.portal.login import choose_customer, logout, open_session, request_link
from server.portal.oauth import callback as oauth_callback
from server.portal.oauth import start as oauth_start

PORTAL_ROUTE_HANDLERS: list[Any] = [
    EmbedController,
    hosted_portal,
    manifest,
    request_link,
    open_session,
    choose_customer,
    logout,
    oauth_start,
    oauth_callback,
    download_document,
    claim_page,
    claim,
    loader_alias,
    loader_versioned,
]
