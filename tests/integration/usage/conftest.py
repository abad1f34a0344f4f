from tests.integration.portal.conftest import customer, mint, open_session

__all__ = ["customer", "mint", "open_session"]
