import asyncio
from datetime import UTC, datetime

import pytest

from server.benefits.grants import list_grants, regenerate_api_key, validate_key
from server.clock import FrozenClock, use_clock
from server.db.tables import BenefitGrant
from server.errors import Invalid, NotFound
from server.security.secrets import sha256_hex
from server.subscriptions.service import change_plan, create_subscription
from tests.integration.factories import (
    make_benefit,
    make_customer,
    make_price,
    make_product,
)


@pytest.fixture(autouse=True)
def frozen():
    with use_clock(FrozenClock(datetime(2027, 6, 1, tzinfo=UTC))) as c:
        yield c


async def trial_subscription(org, product):
    customer = await make_customer(org.org.id)
    price = await make_price(org.org.id, product, trial_days=7)
    return customer, await create_subscription(org.org.id, customer.id, price.id)


async def test_license_keys_are_issued_once_and_encrypted_at_rest(org, keyring):
    org_id = org.org.id
    product = await make_product(org_id)
    await make_benefit(org_id, product, "license_key", prefix="ACME")
    customer, _ = await trial_subscription(org, product)
    assert [g.license_key for g in await list_grants(org_id, customer.id)] == [None]
    views = await asyncio.gather(*(list_grants(org_id, customer.id, keyring=keyring) for _ in range(5)))
    keys = {v[0].license_key for v in views}
    assert len(keys) == 1
    key = keys.pop()
    assert key.startswith("ACME-")
    stored = await BenefitGrant.select(BenefitGrant.secret_encrypted).where(
        BenefitGrant.customer == customer.id
    )
    assert key not in stored[0]["secret_encrypted"]
    assert keyring.box.decrypt(stored[0]["secret_encrypted"]) == key


async def test_api_keys_are_shown_once_and_only_their_hash_is_kept(org):
    org_id = org.org.id
    product = await make_product(org_id)
    await make_benefit(org_id, product, "api_key", prefix="acme")
    await make_benefit(org_id, product, "custom", instructions="Welcome")
    customer, _ = await trial_subscription(org, product)
    grants = {g.type: g for g in await list_grants(org_id, customer.id)}
    with pytest.raises(Invalid):
        await regenerate_api_key(org_id, grants["custom"].id, customer_id=customer.id)
    with pytest.raises(NotFound):
        await regenerate_api_key(org_id, grants["api_key"].id, customer_id=(await make_customer(org_id)).id)
    first = await regenerate_api_key(org_id, grants["api_key"].id, customer_id=customer.id)
    second = await regenerate_api_key(org_id, grants["api_key"].id)
    assert first.startswith("acme_")
    with pytest.raises(NotFound):
        await validate_key(org_id, first)
    assert (await validate_key(org_id, second)).id == str(grants["api_key"].id)
    row = await BenefitGrant.select(BenefitGrant.secret_hash).where(BenefitGrant.id == grants["api_key"].id)
    assert row[0]["secret_hash"] == sha256_hex(second)
    [view] = [g for g in await list_grants(org_id, customer.id) if g.type == "api_key"]
    assert view.api_key_hint == second[-4:]


async def test_switching_product_swaps_the_grants(org):
    org_id = org.org.id
    basic, pro = await make_product(org_id, "Basic"), await make_product(org_id, "Pro")
    await make_benefit(org_id, basic, "custom", instructions="basic")
    pro_benefit = await make_benefit(org_id, pro, "discord", invite_url="https://discord.gg/pro")
    customer, sub = await trial_subscription(org, basic)
    await change_plan(org_id, sub.id, (await make_price(org_id, pro, amount=5000)).id)
    assert [g.benefit_id for g in await list_grants(org_id, customer.id)] == [pro_benefit.id]
    assert await BenefitGrant.count().where(BenefitGrant.customer == customer.id) == 2
