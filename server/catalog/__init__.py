"""The catalog: products, their prices (fixed, seat-based, metered), meters and benefits, as the merchant
sets them up. API: ``/v1/products``, ``/v1/prices``, ``/v1/meters``."""
