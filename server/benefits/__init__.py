"""Benefits a product grants: grants issued and revoked with the subscriptions and orders that carry them
(``grants``), and the files a download benefit serves (``files``). API: ``/v1/benefits``,
``/v1/benefit-grants``."""
