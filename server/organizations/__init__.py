"""The merchant's organization and how its backend authenticates: the organization (``service``), secret
and minting API keys (``api_keys``), the API's caller dependency (``deps``) and the customer sessions a
backend mints (``customer_sessions``). API: ``/v1/organization``, ``/v1/api-keys``,
``/v1/customer-sessions``."""
