"""Billing: proration and period arithmetic, money, renewals, dunning, invoice numbering and PDFs."""
