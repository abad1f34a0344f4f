"""Usage as customers and merchants see it: the report per meter against included amounts and limits
(``usage_report``), alerts (``usage_alerts``), spend caps (``spend_caps``), ingestion of an event
batch with its alert and cap checks (``usage_ingestion``), and the portal's usage news. Storing
events is ``server.metering``. API: ``/v1/events``, ``/v1/usage-alerts``, ``/v1/usage-thresholds``,
``/v1/subscriptions/{id}/spend-cap``, ``/v1/customers/{id}/usage``."""
