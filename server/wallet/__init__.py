"""The wallet: credits (promotional, refunds, manual), debits, what an order takes from the balance, and
credits that expire. API: ``/v1/customers/{id}/wallet``."""
