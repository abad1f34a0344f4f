"""The merchant console (``/console``): staff sign-in and roles, and the pages of the merchant's app."""
