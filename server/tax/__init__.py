"""Tax: the merchant's rates and registrations, the tax lines of an order, credit notes' tax, and tax ids
checked with python-stdnum (``tax_ids``). API: ``/v1/tax-rates``, ``/v1/tax-registrations``."""
