"""The customer-facing side: the embed shell, session exchange, hosted page, views, actions, downloads."""
