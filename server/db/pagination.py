"""Keyset pagination over ``(created_at, id)``: a stable order that new rows never reshuffle, and an opaque
cursor (base64 of the last row's key) that says where the next page starts."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
from piccolo.query import Objects
from piccolo.table import Table

from server.errors import Invalid

T = TypeVar("T", bound=Table)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: Any) -> str:
    raw = msgspec.json.encode([created_at.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = msgspec.json.decode(raw, type=tuple[str, str])
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, UUID(row_id)
    except (binascii.Error, msgspec.DecodeError, ValueError) as exc:
        raise Invalid("cursor is not one this API handed out; start again without it") from exc


async def paginate(
    query: Objects[T], table: type[T], *, limit: int, cursor: str | None, newest_first: bool = False
) -> Page[T]:
    """One page of ``query`` (already filtered by org) in ``(created_at, id)`` order, or the reverse."""
    created = table._meta.get_column_by_name("created_at")
    ident = table._meta.primary_key
    if cursor:
        after, after_id = decode_cursor(cursor)
        if newest_first:
            query = query.where((created < after) | ((created == after) & (ident < after_id)))
        else:
            query = query.where((created > after) | ((created == after) & (ident > after_id)))
    rows = await query.order_by(created, ident, ascending=not newest_first).limit(limit + 1)
    items = rows[:limit]
    more = len(rows) > limit
    last = items[-1] if items else None
    next_cursor = encode_cursor(last.created_at, last.id) if more and last is not None else None  # type: ignore[attr-defined]
    return Page(items=items, next_cursor=next_cursor)


def page_of(rows: list[T], *, limit: int, cursor: str | None) -> Page[T]:
    """The same pages as ``paginate`` over rows a service already loaded (for services that return lists)."""
    ordered = sorted(rows, key=lambda r: (r.created_at, str(r.id)))  # type: ignore[attr-defined]
    if cursor:
        after, after_id = decode_cursor(cursor)
        ordered = [r for r in ordered if (r.created_at, str(r.id)) > (after, str(after_id))]  # type: ignore[attr-defined]
    items = ordered[:limit]
    more = len(ordered) > limit
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None  # type: ignore[attr-defined]
    return Page(items=items, next_cursor=next_cursor)
