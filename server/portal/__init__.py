"""The customer-facing side: the embed shell, session exchange, view fragments and actions."""

from server.portal.embed import EmbedController

PORTAL_ROUTE_HANDLERS: list[type] = [EmbedController]
