"""Offline minting for a merchant backend (CONTRACT §6): ``from server.tokens import mint_portal_token``."""

from server.auth.tokens import DEFAULT_TTL, MAX_TTL, MIN_TTL, PortalClaims, mint_portal_token

__all__ = ["DEFAULT_TTL", "MAX_TTL", "MIN_TTL", "PortalClaims", "mint_portal_token"]
