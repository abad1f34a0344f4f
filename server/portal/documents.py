"""Invoice and receipt downloads through short-lived signed links: the portal mints one while rendering the
orders view for its session's customer; the link itself is the credential, so a plain download works from the
iframe without the bearer session."""

from __future__ import annotations

import hashlib
from typing import Any, Literal
from uuid import UUID

from itsdangerous import BadData, URLSafeTimedSerializer
from litestar import Request, Response, get
from litestar.params import FromPath

from server.errors import DomainError
from server.portal.rendering import render
from server.security.keyring import Keyring
from server.services.orders import get_order, invoice_pdf, receipt_pdf

LINK_LIFETIME_S = 3600
SALT = "selfserve.document-link.v1"
Kind = Literal["invoice", "receipt"]


def _serializer(keyring: Keyring) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        list(keyring.secret_keys), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def document_url(keyring: Keyring, org_id: UUID, customer_id: UUID, order_id: Any, kind: Kind) -> str:
    token = _serializer(keyring).dumps([str(org_id), str(customer_id), str(order_id), kind])
    return f"/embed/documents/{token}"


@get("/embed/documents/{token:str}", name="embed-document", include_in_schema=False)
async def download_document(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    keyring: Keyring = request.app.state.keyring
    try:
        org, customer, order_id, kind = _serializer(keyring).loads(token, max_age=LINK_LIFETIME_S)
        org_id, customer_id, order_uuid = UUID(org), UUID(customer), UUID(order_id)
    except (BadData, ValueError, TypeError):
        return render(
            request,
            "portal/link_expired.html",
            {},
            status=410,
            headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
        )
    try:
        make = invoice_pdf if kind == "invoice" else receipt_pdf
        pdf = await make(org_id, order_uuid, customer_id=customer_id)
        order = await get_order(org_id, order_uuid, customer_id=customer_id)
    except DomainError as exc:
        return Response(exc.detail, status_code=exc.status, media_type="text/plain")
    name = f"{kind}-{order.invoice_number or order.id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "private, no-store",
            "referrer-policy": "no-referrer",
        },
    )
