"""The catalog's routes: products with their prices (``/v1/products``, ``/v1/prices``) and meters
(``/v1/meters``), which turn usage events into numbers per customer and period."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.catalog import service as catalog
from server.catalog.schemas import (
    METER_EXAMPLE,
    PRICE_EXAMPLE,
    PRODUCT_EXAMPLE,
    MeterCreate,
    MeterOut,
    MeterUpdate,
    PriceCreate,
    PriceOut,
    ProductCreate,
    ProductOut,
    ProductUpdate,
)
from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.schemas.common import Page


class ProductController(Controller):
    path = "/v1/products"
    tags = ["products"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createProduct", responses=problems(404, writes=True))
    async def create_product(
        self,
        org: NamedDependency[Organization],
        data: Annotated[ProductCreate, example_body(PRODUCT_EXAMPLE)],
    ) -> ProductOut:
        """Create a product with its prices (fixed, per_seat or metered) and benefits in one call."""
        product = await catalog.create_product(org.id, data)
        return (await catalog.product_views(org.id, [product]))[0]

    @get("/", operation_id="listProducts", responses=problems(422))
    async def list_products(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[ProductOut]:
        """Live products with their live prices, oldest first."""
        page = await catalog.list_products(org.id, limit=limit, cursor=cursor)
        return Page(items=await catalog.product_views(org.id, page.items), next_cursor=page.next_cursor)

    @get("/{product_id:uuid}", operation_id="getProduct", responses=problems(404))
    async def get_product(self, org: NamedDependency[Organization], product_id: FromPath[UUID]) -> ProductOut:
        """One product, archived ones included."""
        return (await catalog.product_views(org.id, [await catalog.get_product(org.id, product_id)]))[0]

    @patch("/{product_id:uuid}", operation_id="updateProduct", responses=problems(404, writes=True))
    async def update_product(
        self,
        org: NamedDependency[Organization],
        product_id: FromPath[UUID],
        data: Annotated[ProductUpdate, example_body({"description": "For teams of 5 to 50"})],
    ) -> ProductOut:
        """Change the name, description, portal visibility, metadata or the set of benefits."""
        product = await catalog.update_product(org.id, product_id, data)
        return (await catalog.product_views(org.id, [product]))[0]

    @post(
        "/{product_id:uuid}/archive",
        operation_id="archiveProduct",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def archive_product(
        self, org: NamedDependency[Organization], product_id: FromPath[UUID]
    ) -> ProductOut:
        """Archive a product: no new subscriptions; existing ones continue."""
        product = await catalog.archive_product(org.id, product_id)
        return (await catalog.product_views(org.id, [product]))[0]

    @post("/{product_id:uuid}/prices", operation_id="addPrice", responses=problems(404, writes=True))
    async def add_price(
        self,
        org: NamedDependency[Organization],
        product_id: FromPath[UUID],
        data: Annotated[PriceCreate, example_body(PRICE_EXAMPLE)],
    ) -> PriceOut:
        """Add a price to a product (prices never change; archive the old one instead)."""
        price = await catalog.add_price(org.id, product_id, data)
        return (await catalog.price_views(org.id, [price]))[0]


class PriceController(Controller):
    path = "/v1/prices"
    tags = ["products"]
    security = API_KEY_SECURITY

    @get("/{price_id:uuid}", operation_id="getPrice", responses=problems(404))
    async def get_price(self, org: NamedDependency[Organization], price_id: FromPath[UUID]) -> PriceOut:
        """One price with its metered components."""
        return (await catalog.price_views(org.id, [await catalog.get_price(org.id, price_id)]))[0]

    @post(
        "/{price_id:uuid}/archive",
        operation_id="archivePrice",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def archive_price(self, org: NamedDependency[Organization], price_id: FromPath[UUID]) -> PriceOut:
        """Archive a price: no new subscriptions on it; existing ones keep it."""
        price = await catalog.archive_price(org.id, price_id)
        return (await catalog.price_views(org.id, [price]))[0]


class MeterController(Controller):
    path = "/v1/meters"
    tags = ["meters"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createMeter", responses=problems(writes=True))
    async def create_meter(
        self, org: NamedDependency[Organization], data: Annotated[MeterCreate, example_body(METER_EXAMPLE)]
    ) -> MeterOut:
        """Create a meter; its ``event_name`` must be unique among your live meters (else 409)."""
        return MeterOut.of(await catalog.create_meter(org.id, data))

    @get("/", operation_id="listMeters", responses=problems(422))
    async def list_meters(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[MeterOut]:
        """Live meters, oldest first."""
        page = await catalog.list_meters(org.id, limit=limit, cursor=cursor)
        return Page(items=[MeterOut.of(m) for m in page.items], next_cursor=page.next_cursor)

    @get("/{meter_id:uuid}", operation_id="getMeter", responses=problems(404))
    async def get_meter(self, org: NamedDependency[Organization], meter_id: FromPath[UUID]) -> MeterOut:
        """One meter, archived ones included."""
        return MeterOut.of(await catalog.get_meter(org.id, meter_id))

    @patch("/{meter_id:uuid}", operation_id="updateMeter", responses=problems(404, writes=True))
    async def update_meter(
        self,
        org: NamedDependency[Organization],
        meter_id: FromPath[UUID],
        data: Annotated[MeterUpdate, example_body({"name": "API requests", "visible_in_portal": False})],
    ) -> MeterOut:
        """Rename a meter or hide it from the portal; what it counts never changes."""
        return MeterOut.of(await catalog.update_meter(org.id, meter_id, data))

    @post(
        "/{meter_id:uuid}/archive",
        operation_id="archiveMeter",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def archive_meter(self, org: NamedDependency[Organization], meter_id: FromPath[UUID]) -> MeterOut:
        """Archive a meter: it stops appearing in lists; prices using it keep billing."""
        return MeterOut.of(await catalog.archive_meter(org.id, meter_id))
