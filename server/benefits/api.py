"""Benefits: what a product grants (license keys, Discord invites, downloads, API keys, custom), and the
grants that give them to customers."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.benefits import grants
from server.catalog import service as catalog
from server.catalog.schemas import (
    BENEFIT_EXAMPLE,
    BenefitCreate,
    BenefitGrantOut,
    BenefitKeyCheck,
    BenefitOut,
    BenefitUpdate,
)
from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.schemas.common import Page


class BenefitController(Controller):
    path = "/v1/benefits"
    tags = ["benefits"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createBenefit", responses=problems(404, writes=True))
    async def create_benefit(
        self,
        org: NamedDependency[Organization],
        data: Annotated[BenefitCreate, example_body(BENEFIT_EXAMPLE)],
    ) -> BenefitOut:
        """Define a benefit; attach it to products with ``benefit_ids``."""
        return BenefitOut.of(await catalog.create_benefit(org.id, data))

    @get("/", operation_id="listBenefits", responses=problems(422))
    async def list_benefits(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[BenefitOut]:
        """Live benefits, oldest first."""
        page = await catalog.list_benefits(org.id, limit=limit, cursor=cursor)
        return Page(items=[BenefitOut.of(b) for b in page.items], next_cursor=page.next_cursor)

    @get("/{benefit_id:uuid}", operation_id="getBenefit", responses=problems(404))
    async def get_benefit(self, org: NamedDependency[Organization], benefit_id: FromPath[UUID]) -> BenefitOut:
        """One benefit, archived ones included."""
        return BenefitOut.of(await catalog.get_benefit(org.id, benefit_id))

    @patch("/{benefit_id:uuid}", operation_id="updateBenefit", responses=problems(404, writes=True))
    async def update_benefit(
        self,
        org: NamedDependency[Organization],
        benefit_id: FromPath[UUID],
        data: Annotated[BenefitUpdate, example_body({"description": "Community Discord"})],
    ) -> BenefitOut:
        """Change the description or the per-type properties (the type is fixed)."""
        return BenefitOut.of(await catalog.update_benefit(org.id, benefit_id, data))

    @post(
        "/{benefit_id:uuid}/archive",
        operation_id="archiveBenefit",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def archive_benefit(
        self, org: NamedDependency[Organization], benefit_id: FromPath[UUID]
    ) -> BenefitOut:
        """Archive a benefit: no new grants; existing grants stay."""
        return BenefitOut.of(await catalog.archive_benefit(org.id, benefit_id))


class BenefitGrantController(Controller):
    path = "/v1/benefit-grants"
    tags = ["benefits"]
    security = API_KEY_SECURITY

    @get("/{grant_id:uuid}", operation_id="getBenefitGrant", responses=problems(404))
    async def get_grant(
        self, org: NamedDependency[Organization], grant_id: FromPath[UUID]
    ) -> BenefitGrantOut:
        """One benefit grant, live or revoked (what ``benefit_grant.*`` webhooks carry); never its secrets."""
        return await grants.get_grant(org.id, grant_id)

    @post(
        "/validate", operation_id="validateBenefitKey", status_code=200, responses=problems(404, writes=True)
    )
    async def validate_key(
        self,
        org: NamedDependency[Organization],
        data: Annotated[BenefitKeyCheck, example_body({"key": "ACME-7KQ2M-X9P4D-T3VWB-HN8RC"})],
    ) -> BenefitGrantOut:
        """The live grant that holds a license key or API key your customer presented: check
        ``customer_id`` and ``type`` before you accept it. A 404 for a key nobody holds, a regenerated API
        key's old value, or a revoked grant's key. The key travels in the body, never in a URL."""
        return await grants.validate_key(org.id, data.key)
