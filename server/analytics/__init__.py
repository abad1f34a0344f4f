"""Analytics: what the portal's sessions did (``portal_analytics``: events, funnels, activity), the
merchant's overview figures, CSV exports of orders and usage, and the terminal reports of
``selfserve analytics``. API: ``/v1/analytics``, ``/v1/activity``, ``/v1/customers/{id}/activity``
and the CSV exports."""
