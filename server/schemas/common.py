"""Building blocks shared by the API schemas: constrained field types, the list envelope, the problem body."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import msgspec
from msgspec import Meta

T = TypeVar("T")

Id = Annotated[str, Meta(description="A UUID.", examples=["3f2c9a1e-8d4b-4c55-9a0e-2f6d7b8c1a2e"])]
END = r"(?!\n)$"
"""The end of the value (Python's ``$`` alone also matches before a final line break)."""
ONE_LINE = rf"^[^\x00-\x1f\x7f-\x9f]*{END}"
"""Text without control characters: PostgreSQL cannot store U+0000 (SQLite cuts strings at it in JSON),
and the others (line breaks, terminal escapes) have no place in a name or an address line."""
_MAILBOX = r"[^@\s\x00-\x1f\x7f-\x9f<>\"(),;:\\]+"
EMAIL_PATTERN = rf"^{_MAILBOX}@{_MAILBOX}\.{_MAILBOX}{END}"
"""What an address may look like wherever one is taken (the API, the portal, outgoing mail)."""
Email = Annotated[
    str,
    Meta(
        pattern=EMAIL_PATTERN,
        max_length=320,
        description="An email address.",
        examples=["ada@example.com"],
    ),
]
Name = Annotated[str, Meta(max_length=200, pattern=ONE_LINE)]
ExternalId = Annotated[
    str,
    Meta(min_length=1, max_length=200, pattern=rf"^[!-~]+{END}", description="Printable ASCII, no spaces."),
]
Currency = Annotated[
    str, Meta(pattern=rf"^[A-Z]{{3}}{END}", description="ISO 4217 code, upper case.", examples=["USD"])
]
MinorUnits = Annotated[int, Meta(ge=0, le=10**12, description="Integer minor units of the currency.")]
Positive = Annotated[int, Meta(ge=1, le=10**12)]
"""A positive amount in minor units (a refund, a credit)."""
Metadata = Annotated[
    dict[str, str],
    Meta(description="Up to 50 pairs for your own use: keys of 1 to 40 characters, values up to 500."),
]
Limit = Annotated[int, Meta(ge=1, le=100)]


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a list; pass ``next_cursor`` back as ``?cursor=`` for the next (null: no more)."""

    items: list[T]
    next_cursor: str | None


class Problem(msgspec.Struct, frozen=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str


def json_value(value: Any) -> Any:
    """Piccolo hands JSON columns back as text; decode them once here."""
    if isinstance(value, str | bytes):
        return msgspec.json.decode(value) if value else None
    return value


def optional_id(value: object) -> str | None:
    """A row's foreign key as the API shows it: its text, or null."""
    return str(value) if value is not None else None
