"""Downloads (invoices, receipts, credit notes, benefit files, data exports) through single-use links a
minute long.

A view shows ``document_path(kind, ref)``, which is no credential (views are cached and shared between
requests). Clicking it, the portal script asks ``POST /embed/documents/{kind}/{ref}`` with its session
(bearer or cookie + CSRF) for a fresh link, ``document_link``, and follows it. The link itself is the
credential, so the download works from the iframe without the bearer session; it is signed, names the
session's customer, expires after ``LINK_LIFETIME`` and is burned on first use, and the access log shows
it redacted (``server.access_log``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args
from uuid import UUID

from itsdangerous import BadData, URLSafeSerializer
from litestar import Response, get
from litestar.params import FromPath
from litestar.response import Stream

from server import clock, i18n
from server.analytics import exports
from server.benefits.files import granted_file
from server.billing.orders import credit_note_pdf_by_id, get_order, invoice_pdf, receipt_pdf
from server.errors import DomainError, NotFound
from server.http.types import AnyRequest
from server.paths import DOCUMENTS_PREFIX as PREFIX
from server.portal.rendering import render
from server.privacy.data_exports import export_archive
from server.security.keyring import Keyring
from server.state import app_state

LINK_LIFETIME = timedelta(seconds=60)
SALT = "selfserve.document-link.v2"
Kind = Literal["invoice", "receipt", "credit_note", "file", "export", "usage_csv", "orders_csv"]
CSV_KINDS = {"usage_csv": exports.usage_csv, "orders_csv": exports.orders_csv}
"""CSV exports of the customer's own data (``ref`` is the customer id), streamed."""
KINDS: tuple[str, ...] = get_args(Kind)


def _serializer(keyring: Keyring) -> URLSafeSerializer:
    return URLSafeSerializer(
        list(keyring.secret_keys), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def document_path(kind: Kind, ref: Any) -> str:
    """Where a view points for the ``kind`` document ``ref`` (an order, credit note, file or data export id):
    the portal script asks this path for a link (``document_link``)."""
    return f"{PREFIX}{kind}/{ref}"


def document_link(keyring: Keyring, org_id: UUID, customer_id: UUID, ref: UUID, kind: str) -> str:
    """A single-use link to the ``kind`` document ``ref`` for this customer, valid ``LINK_LIFETIME``."""
    if kind not in KINDS:
        raise NotFound("no such document")
    expires = int((clock.now() + LINK_LIFETIME).timestamp())
    payload = [str(org_id), str(customer_id), str(ref), kind, secrets.token_urlsafe(16), expires]
    return PREFIX + _serializer(keyring).dumps(payload)


def _expired(request: AnyRequest) -> Response[str]:
    language = i18n.negotiate(*i18n.accept_language(request.headers.get("accept-language")))
    with i18n.use_locale(language):
        return render(
            request,
            "portal/link_expired.html",
            {"locale": language, "dir": i18n.text_direction(language)},
            status=410,
            headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
        )


@get(PREFIX + "{token:str}", name="embed-document", include_in_schema=False)
async def download_document(request: AnyRequest, token: FromPath[str]) -> Response[Any]:
    keyring: Keyring = app_state(request).keyring
    try:
        org, customer, ref, kind, jti, expires = _serializer(keyring).loads(token)
        org_id, customer_id, ref_id = UUID(org), UUID(customer), UUID(ref)
        expires_at = datetime.fromtimestamp(expires, UTC)
    except (BadData, ValueError, TypeError):
        return _expired(request)
    if expires_at <= clock.now() or not await app_state(request).replay_store.burn(
        f"document:{jti}", org_id, expires_at
    ):
        return _expired(request)
    headers = {
        "content-disposition": f'attachment; filename="{kind.replace("_", ".")}"',
        "cache-control": "private, no-store",
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
    }
    if kind in CSV_KINDS:
        if ref_id != customer_id:
            return _expired(request)
        try:
            rows = await CSV_KINDS[kind](org_id, customer_id)
        except DomainError as exc:
            return Response(exc.detail, status_code=exc.status, media_type="text/plain")
        return Stream(rows, media_type="text/csv; charset=utf-8", headers=headers)
    try:
        if kind == "file":
            stored = await granted_file(org_id, customer_id, ref_id)
            content, media_type, name = bytes(stored.content), stored.mime_type, stored.name
        elif kind == "export":
            content, name = await export_archive(org_id, customer_id, ref_id)
            media_type = "application/zip"
        elif kind == "credit_note":
            note, content = await credit_note_pdf_by_id(org_id, ref_id, customer_id=customer_id)
            media_type, name = "application/pdf", f"credit-note-{note.number}.pdf"
        else:
            make = invoice_pdf if kind == "invoice" else receipt_pdf
            content, media_type = await make(org_id, ref_id, customer_id=customer_id), "application/pdf"
            order = await get_order(org_id, ref_id, customer_id=customer_id)
            name = f"{kind}-{order.invoice_number or order.id}.pdf"
    except DomainError as exc:
        return Response(exc.detail, status_code=exc.status, media_type="text/plain")
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "download"
    headers["content-disposition"] = f'attachment; filename="{safe_name}"'
    return Response(content, media_type=media_type, headers=headers)
