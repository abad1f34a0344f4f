"""Files that downloadable benefits hand out. A customer may fetch a file only while a live grant of a
downloadable benefit lists it."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.db.tables import BenefitGrant, StoredFile
from server.enums import BenefitType
from server.errors import Invalid, NotFound


class FileInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    size: int
    mime_type: str


async def store_file(org_id: UUID, *, name: str, mime_type: str, content: bytes) -> StoredFile:
    """Keep a file that downloadable benefits can hand out."""
    if not 1 <= len(name) <= 255 or "/" in name:
        raise Invalid("a file name is 1 to 255 characters, without '/'")
    stored = StoredFile(
        org=org_id,
        name=name,
        mime_type=mime_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        created_at=clock.now(),
    )
    await stored.save()
    return stored


async def files_info(org_id: UUID, file_ids: list[Any]) -> list[FileInfo]:
    """Names and sizes (not contents) of ``file_ids``, in the order asked."""
    if not file_ids:
        return []
    rows = await StoredFile.select(
        StoredFile.id, StoredFile.name, StoredFile.size, StoredFile.mime_type
    ).where(StoredFile.org == org_id, StoredFile.id.is_in([UUID(str(f)) for f in file_ids]))
    by_id = {str(r["id"]): r for r in rows}
    return [
        FileInfo(id=key, name=row["name"], size=int(row["size"]), mime_type=row["mime_type"])
        for key in map(str, file_ids)
        if (row := by_id.get(key)) is not None
    ]


async def granted_file(org_id: UUID, customer_id: UUID, file_id: UUID) -> StoredFile:
    """The file, if one of the customer's live downloadable grants lists it; NotFound otherwise."""
    grants = await BenefitGrant.select(BenefitGrant.benefit.properties).where(
        BenefitGrant.org == org_id,
        BenefitGrant.customer == customer_id,
        BenefitGrant.revoked_at.is_null(),
        BenefitGrant.benefit.type == BenefitType.DOWNLOADABLE,
    )
    for grant in grants:
        raw = grant["benefit.properties"]
        properties = msgspec.json.decode(raw) if isinstance(raw, str | bytes) else (raw or {})
        if str(file_id) in {str(f) for f in properties.get("file_ids") or []}:
            stored = (
                await StoredFile.objects().where(StoredFile.org == org_id, StoredFile.id == file_id).first()
            )
            if stored is not None:
                return stored
    raise NotFound("this file is not part of your benefits")
