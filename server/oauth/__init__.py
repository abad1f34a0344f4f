"""Sign-in with OAuth and OpenID Connect: the merchant's providers (``providers``) and the accounts
customers connect with them (``connected_accounts``). API: ``/v1/oauth-providers``,
``/v1/customers/{id}/connected-accounts``."""
