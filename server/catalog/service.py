"""The merchant's catalog: meters, products with prices (and their metered components), benefits.

Prices are immutable once created (subscriptions point at them): change a price by adding a new one and
archiving the old. Archiving hides a row from new purchases; existing subscriptions keep working.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from babel.numbers import list_currencies
from piccolo.table import Table

from server import clock
from server.catalog.schemas import (
    BenefitCreate,
    BenefitProperties,
    BenefitUpdate,
    MeterCreate,
    MeterUpdate,
    PriceCreate,
    PriceOut,
    ProductCreate,
    ProductOut,
    ProductUpdate,
)
from server.db.constraints import unique_or_conflict
from server.db.engine import write_transaction
from server.db.pagination import Page, paginate
from server.db.tables import Benefit, Meter, Price, PriceMeter, Product, ProductBenefit, StoredFile
from server.enums import BenefitType, Interval, PriceKind
from server.errors import Invalid, NotFound
from server.schemas.common import json_value
from server.schemas.validators import check_link, check_metadata, check_url

R = TypeVar("R", bound=Table)
_CURRENCIES = frozenset(list_currencies())


async def _get(table: type[R], org_id: UUID, row_id: UUID, what: str) -> R:
    row = await table.objects().where(table.org == org_id, table._meta.primary_key == row_id).first()  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"no {what} {row_id}")
    return row


async def _archive(row: Table, column: Any) -> None:
    if row.archived_at is None:  # type: ignore[attr-defined]
        row.archived_at = clock.now()  # type: ignore[attr-defined]
        await row.save([column])


def _changes(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields an update Struct actually sets (None means leave as is)."""
    return {k: v for k, v in msgspec.to_builtins(struct).items() if v is not None}


# Meters


async def create_meter(org_id: UUID, data: MeterCreate) -> Meter:
    meter = Meter(org=org_id, **msgspec.to_builtins(data), created_at=clock.now())
    with unique_or_conflict(f"a live meter already counts events named {data.event_name!r}"):
        await meter.save()
    return meter


async def get_meter(org_id: UUID, meter_id: UUID) -> Meter:
    return await _get(Meter, org_id, meter_id, "meter")


async def list_meters(org_id: UUID, *, limit: int, cursor: str | None = None) -> Page[Meter]:
    query = Meter.objects().where(Meter.org == org_id, Meter.archived_at.is_null())
    return await paginate(query, Meter, limit=limit, cursor=cursor)


async def update_meter(org_id: UUID, meter_id: UUID, changes: MeterUpdate) -> Meter:
    meter = await get_meter(org_id, meter_id)
    values = _changes(changes)
    if values:
        for name, value in values.items():
            setattr(meter, name, value)
        await meter.save([getattr(Meter, name) for name in values])
    return meter


async def archive_meter(org_id: UUID, meter_id: UUID) -> Meter:
    meter = await get_meter(org_id, meter_id)
    await _archive(meter, Meter.archived_at)
    return meter


# Prices


async def _check_price(org_id: UUID, data: PriceCreate) -> None:
    if data.currency not in _CURRENCIES:
        raise Invalid(f"{data.currency!r} is not an ISO 4217 currency")
    if data.kind == PriceKind.PER_SEAT:
        if data.max_seats is not None and data.max_seats < data.min_seats:
            raise Invalid("max_seats must be at least min_seats")
    elif data.seat_amount or data.min_seats != 1 or data.max_seats is not None:
        raise Invalid("seat_amount, min_seats and max_seats apply to per_seat prices only")
    if data.kind == PriceKind.METERED and not data.meters:
        raise Invalid("a metered price needs at least one meter")
    if data.interval == Interval.ONE_TIME and (
        data.meters or data.trial_days or data.kind != PriceKind.FIXED
    ):
        raise Invalid("a one_time price is fixed, without meters or a trial")
    meter_ids = [m.meter_id for m in data.meters]
    if len(set(meter_ids)) != len(meter_ids):
        raise Invalid("each meter may appear once per price")
    if meter_ids:
        found = await Meter.count().where(
            Meter.org == org_id, Meter.id.is_in(meter_ids), Meter.archived_at.is_null()
        )
        if found != len(meter_ids):
            raise NotFound("one of the meters does not exist or is archived")


async def _insert_price(org_id: UUID, product_id: UUID, data: PriceCreate) -> Price:
    """Inside the caller's transaction, after ``_check_price``."""
    fields = {k: v for k, v in msgspec.to_builtins(data).items() if k != "meters"}
    price = Price(org=org_id, product=product_id, **fields, created_at=clock.now())
    await price.save()
    if data.meters:
        await PriceMeter.insert(
            *[
                PriceMeter(
                    org=org_id,
                    price=price.id,
                    meter=m.meter_id,
                    included_units=m.included_units,
                    unit_amount=m.unit_amount,
                    unit_batch=m.unit_batch,
                    usage_limit=m.usage_limit,
                )
                for m in data.meters
            ]
        )
    return price


async def add_price(org_id: UUID, product_id: UUID, data: PriceCreate) -> Price:
    await _check_price(org_id, data)
    async with write_transaction():
        product = await get_product(org_id, product_id)
        if product.archived_at is not None:
            raise Invalid("this product is archived")
        return await _insert_price(org_id, product.id, data)


async def get_price(org_id: UUID, price_id: UUID) -> Price:
    return await _get(Price, org_id, price_id, "price")


async def archive_price(org_id: UUID, price_id: UUID) -> Price:
    price = await get_price(org_id, price_id)
    await _archive(price, Price.archived_at)
    return price


async def price_views(org_id: UUID, prices: Sequence[Price]) -> list[PriceOut]:
    meters: dict[str, list[PriceMeter]] = defaultdict(list)
    if prices:
        rows = await PriceMeter.objects().where(
            PriceMeter.org == org_id, PriceMeter.price.is_in([p.id for p in prices])
        )
        for row in rows:
            meters[str(row.price)].append(row)
    return [PriceOut.of(p, meters[str(p.id)]) for p in prices]


# Products


async def _check_benefits(org_id: UUID, benefit_ids: list[UUID]) -> None:
    if len(set(benefit_ids)) != len(benefit_ids):
        raise Invalid("each benefit may appear once")
    if benefit_ids:
        found = await Benefit.count().where(
            Benefit.org == org_id, Benefit.id.is_in(benefit_ids), Benefit.archived_at.is_null()
        )
        if found != len(benefit_ids):
            raise NotFound("one of the benefits does not exist or is archived")


async def _set_benefits(org_id: UUID, product_id: UUID, benefit_ids: list[UUID]) -> None:
    await ProductBenefit.delete().where(ProductBenefit.org == org_id, ProductBenefit.product == product_id)
    if benefit_ids:
        await ProductBenefit.insert(
            *[ProductBenefit(org=org_id, product=product_id, benefit=b) for b in benefit_ids]
        )


async def create_product(org_id: UUID, data: ProductCreate) -> Product:
    check_metadata(data.metadata)
    for price in data.prices:
        await _check_price(org_id, price)
    await _check_benefits(org_id, data.benefit_ids)
    product = Product(
        org=org_id,
        name=data.name,
        description=data.description,
        visible_in_portal=data.visible_in_portal,
        tax_behavior=data.tax_behavior,
        metadata=data.metadata,
        created_at=clock.now(),
    )
    async with write_transaction():
        await product.save()
        for price in data.prices:
            await _insert_price(org_id, product.id, price)
        await _set_benefits(org_id, product.id, data.benefit_ids)
    return product


async def get_product(org_id: UUID, product_id: UUID) -> Product:
    return await _get(Product, org_id, product_id, "product")


async def list_products(org_id: UUID, *, limit: int, cursor: str | None = None) -> Page[Product]:
    query = Product.objects().where(Product.org == org_id, Product.archived_at.is_null())
    return await paginate(query, Product, limit=limit, cursor=cursor)


async def update_product(org_id: UUID, product_id: UUID, changes: ProductUpdate) -> Product:
    check_metadata(changes.metadata or {})
    values = _changes(changes)
    benefit_ids = values.pop("benefit_ids", None)
    if benefit_ids is not None:
        await _check_benefits(org_id, changes.benefit_ids or [])
    async with write_transaction():
        product = await get_product(org_id, product_id)
        if values:
            for name, value in values.items():
                setattr(product, name, value)
            await product.save([getattr(Product, name) for name in values])
        if benefit_ids is not None:
            await _set_benefits(org_id, product.id, changes.benefit_ids or [])
    return product


async def archive_product(org_id: UUID, product_id: UUID) -> Product:
    product = await get_product(org_id, product_id)
    await _archive(product, Product.archived_at)
    return product


async def product_views(org_id: UUID, products: Sequence[Product]) -> list[ProductOut]:
    """Products with their live prices and benefit ids, in two queries whatever the count."""
    ids = [p.id for p in products]
    prices: dict[str, list[PriceOut]] = defaultdict(list)
    benefits: dict[str, list[str]] = defaultdict(list)
    if ids:
        rows = (
            await Price.objects()
            .where(Price.org == org_id, Price.product.is_in(ids), Price.archived_at.is_null())
            .order_by(Price.created_at, Price.id)
        )
        for price in await price_views(org_id, rows):
            prices[price.product_id].append(price)
        links = await ProductBenefit.select(ProductBenefit.product, ProductBenefit.benefit).where(
            ProductBenefit.org == org_id, ProductBenefit.product.is_in(ids)
        )
        for link in links:
            benefits[str(link["product"])].append(str(link["benefit"]))
    return [
        ProductOut(
            id=str(p.id),
            name=p.name,
            description=p.description,
            visible_in_portal=p.visible_in_portal,
            tax_behavior=p.tax_behavior,
            metadata=json_value(p.metadata) or {},
            prices=prices[str(p.id)],
            benefit_ids=sorted(benefits[str(p.id)]),
            created_at=p.created_at,
            archived_at=p.archived_at,
        )
        for p in products
    ]


# Benefits


async def _check_benefit_properties(org_id: UUID, kind: BenefitType, props: BenefitProperties) -> None:
    if props.invite_url is not None:
        check_url(props.invite_url, "properties.invite_url")
    if props.url is not None:
        check_link(props.url, "properties.url")
    if kind == BenefitType.DISCORD and not props.invite_url:
        raise Invalid("a discord benefit needs properties.invite_url")
    if kind == BenefitType.CUSTOM and not (props.instructions or props.url):
        raise Invalid("a custom benefit needs properties.instructions or properties.url")
    if kind == BenefitType.DOWNLOADABLE:
        file_ids = props.file_ids or []
        if not file_ids or len(set(file_ids)) != len(file_ids):
            raise Invalid("a downloadable benefit needs distinct properties.file_ids")
        found = await StoredFile.count().where(StoredFile.org == org_id, StoredFile.id.is_in(file_ids))
        if found != len(file_ids):
            raise NotFound("one of the files does not exist")
    if props.activation_limit is not None and kind != BenefitType.LICENSE_KEY:
        raise Invalid("activation_limit applies to license_key benefits only")
    if props.prefix is not None and kind not in {BenefitType.LICENSE_KEY, BenefitType.API_KEY}:
        raise Invalid("prefix applies to license_key and api_key benefits only")


async def create_benefit(org_id: UUID, data: BenefitCreate) -> Benefit:
    await _check_benefit_properties(org_id, data.type, data.properties)
    benefit = Benefit(
        org=org_id,
        type=data.type,
        description=data.description,
        properties=msgspec.json.encode(data.properties).decode(),
        created_at=clock.now(),
    )
    await benefit.save()
    return benefit


async def get_benefit(org_id: UUID, benefit_id: UUID) -> Benefit:
    return await _get(Benefit, org_id, benefit_id, "benefit")


async def list_benefits(org_id: UUID, *, limit: int, cursor: str | None = None) -> Page[Benefit]:
    query = Benefit.objects().where(Benefit.org == org_id, Benefit.archived_at.is_null())
    return await paginate(query, Benefit, limit=limit, cursor=cursor)


async def update_benefit(org_id: UUID, benefit_id: UUID, changes: BenefitUpdate) -> Benefit:
    benefit = await get_benefit(org_id, benefit_id)
    columns: list[Any] = []
    if changes.properties is not None:
        await _check_benefit_properties(org_id, BenefitType(benefit.type), changes.properties)
        benefit.properties = msgspec.json.encode(changes.properties).decode()
        columns.append(Benefit.properties)
    if changes.description is not None:
        benefit.description = changes.description
        columns.append(Benefit.description)
    if columns:
        await benefit.save(columns)
    return benefit


async def archive_benefit(org_id: UUID, benefit_id: UUID) -> Benefit:
    benefit = await get_benefit(org_id, benefit_id)
    await _archive(benefit, Benefit.archived_at)
    return benefit


async def prices_with_products(org_id: UUID, price_ids: Sequence[Any]) -> dict[str, Price]:
    """Prices by id with their product joined in (``price.product`` is the Product row), in one query."""
    if not price_ids:
        return {}
    rows = await Price.objects(Price.product).where(Price.org == org_id, Price.id.is_in(list(price_ids)))
    return {str(row.id): row for row in rows}
