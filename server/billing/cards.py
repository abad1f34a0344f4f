"""Reading a customer's saved cards: what ``orders`` charges and ``payments`` manages (writes, defaults and
their consequences live in ``payments``)."""

from __future__ import annotations

from uuid import UUID

from server.db.tables import PaymentMethod
from server.errors import NotFound


async def get_payment_method(org_id: UUID, customer_id: UUID, pm_id: UUID) -> PaymentMethod:
    method = (
        await PaymentMethod.objects()
        .where(PaymentMethod.id == pm_id, PaymentMethod.org == org_id, PaymentMethod.customer == customer_id)
        .first()
    )
    if method is None:
        raise NotFound(f"no payment method {pm_id}")
    return method


async def get_default_payment_method(org_id: UUID, customer_id: UUID) -> PaymentMethod | None:
    return (
        await PaymentMethod.objects()
        .where(
            PaymentMethod.org == org_id,
            PaymentMethod.customer == customer_id,
            PaymentMethod.is_default.eq(True),
        )
        .first()
    )
