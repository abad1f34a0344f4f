"""Provider identities customers connected to their account, and whom a provider identity signs in.

The rule: an identity a customer connected (while signed in) signs that customer in. Otherwise the email
the provider gives signs in the customers with that address, and only when the provider verified it; an
unverified or unknown address signs in nobody. Connecting or disconnecting sends ``customer.updated`` and
leaves an activity entry. The magic link keeps working whatever is connected, so nobody is locked out.
"""

from __future__ import annotations

from uuid import UUID

from server import clock
from server.auth.magic_links import customers_with_email, normalize_email
from server.auth.oauth import Identity
from server.customers.service import note_customer_change
from server.db.constraints import unique_or_conflict
from server.db.engine import write_transaction
from server.db.tables import ConnectedAccount, Customer
from server.enums import OAuthProviderKind
from server.errors import Conflict, Invalid, NotFound

CONNECTED = "account_connected"
DISCONNECTED = "account_disconnected"


async def list_connected_accounts(org_id: UUID, customer_id: UUID) -> list[ConnectedAccount]:
    return await (
        ConnectedAccount.objects()
        .where(ConnectedAccount.org == org_id, ConnectedAccount.customer == customer_id)
        .order_by(ConnectedAccount.created_at)
    )


async def customers_for_identity(org_id: UUID, identity: Identity) -> list[Customer]:
    """The live customers ``identity`` may open: the one it is connected to, else those with its verified
    email (several when they share it; the person then chooses)."""
    account = (
        await ConnectedAccount.objects()
        .where(
            ConnectedAccount.org == org_id,
            ConnectedAccount.provider == identity.provider.value,
            ConnectedAccount.subject == identity.subject,
        )
        .first()
    )
    if account is not None:
        customer = (
            await Customer.objects()
            .where(Customer.id == account.customer, Customer.org == org_id, Customer.deleted_at.is_null())
            .first()
        )
        if customer is not None:
            await ConnectedAccount.update({ConnectedAccount.last_used_at: clock.now()}).where(
                ConnectedAccount.id == account.id
            )
            return [customer]
    if identity.email is None or not identity.email_verified:
        return []
    try:
        email = normalize_email(identity.email)
    except Invalid:
        return []
    return await customers_with_email(org_id, email)


async def connect_account(org_id: UUID, customer_id: UUID, identity: Identity) -> ConnectedAccount:
    """Connect ``identity`` to the customer (replacing another account of the same provider). An identity
    connected to another customer stays there (``Conflict``)."""
    taken = f"this {identity.provider} account is already connected to another account"
    with unique_or_conflict(taken):
        async with write_transaction():
            owner = (
                await ConnectedAccount.select(ConnectedAccount.customer)
                .where(
                    ConnectedAccount.org == org_id,
                    ConnectedAccount.provider == identity.provider.value,
                    ConnectedAccount.subject == identity.subject,
                )
                .first()
            )
            if owner is not None and str(owner["customer"]) != str(customer_id):
                raise Conflict(taken)
            account = (
                await ConnectedAccount.objects()
                .where(
                    ConnectedAccount.customer == customer_id,
                    ConnectedAccount.provider == identity.provider.value,
                )
                .first()
            )
            unchanged = account is not None and account.subject == identity.subject
            if account is None:
                account = ConnectedAccount(
                    org=org_id, customer=customer_id, provider=identity.provider.value, created_at=clock.now()
                )
            account.subject = identity.subject
            account.email = identity.email or ""
            await account.save()
            if not unchanged:
                await note_customer_change(
                    org_id, customer_id, action=CONNECTED, provider=identity.provider.value
                )
    return account


async def disconnect_account(org_id: UUID, customer_id: UUID, provider: OAuthProviderKind) -> None:
    async with write_transaction():
        removed = (
            await ConnectedAccount.delete()
            .where(
                ConnectedAccount.org == org_id,
                ConnectedAccount.customer == customer_id,
                ConnectedAccount.provider == provider.value,
            )
            .returning(ConnectedAccount.id)
        )
        if not removed:
            raise NotFound(f"no {provider} account is connected")
        await note_customer_change(org_id, customer_id, action=DISCONNECTED, provider=provider.value)
