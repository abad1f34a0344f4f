"""Retention: the offers (a pause, a cheaper plan, a coupon) made per cancellation reason, when one may
be shown, and what accepting or declining does. API: ``/v1/retention-settings``,
``/v1/retention-offers``."""
