"""Downloads (invoices, receipts, benefit files) through short-lived signed links: the portal mints one while
rendering a view for its session's customer; the link itself is the credential, so a plain download works
from the iframe without the bearer session."""

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
from server.services.files import granted_file
from server.services.orders import get_order, invoice_pdf, receipt_pdf

LINK_LIFETIME_S = 3600
SALT = "selfserve.document-link.v1"
Kind = Literal["invoice", "receipt", "file"]


def _serializer(keyring: Keyring) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        list(keyring.secret_keys), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def document_url(keyring: Keyring, org_id: UUID, customer_id: UUID, ref: Any, kind: Kind) -> str:
    """A link to the ``kind`` document ``ref`` (an order id, or a file id) for this customer, valid 1 h."""
    token = _serializer(keyring).dumps([str(org_id), str(customer_id), str(ref), kind])
    return f"/embed/documents/{token}"


@get("/embed/documents/{token:str}", name="embed-document", include_in_schema=False)
async def download_document(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    keyring: Keyring = request.app.state.keyring
    try:
        org, customer, ref, kind = _serializer(keyring).loads(token, max_age=LINK_LIFETIME_S)
        org_id, customer_id, ref_id = UUID(org), UUID(customer), UUID(ref)
    except (BadData, ValueError, TypeError):
        return render(
            request,
            "portal/link_expired.html",
            {},
            status=410,
            headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
        )
    try:
        if kind == "file":
            stored = await granted_file(org_id, customer_id, ref_id)
            content, media_type, name = bytes(stored.content), stored.mime_type, stored.name
        else:
            make = invoice_pdf if kind == "invoice" else receipt_pdf
            content, media_type = await make(org_id, ref_id, customer_id=customer_id), "application/pdf"
            order = await get_order(org_id, ref_id, customer_id=customer_id)
            name = f"{kind}-{order.invoice_number or order.id}.pdf"
    except DomainError as exc:
        return Response(exc.detail, status_code=exc.status, media_type="text/plain")
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "download"
    return Response(
        content,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{safe_name}"',
            "cache-control": "private, no-store",
            "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff",
        },
    )
