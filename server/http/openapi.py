"""OpenAPI helpers so every operation documents its example body and every error status it can answer."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Reference, SecurityScheme
from litestar.params import Body, QueryParameter

from server.schemas.common import Problem

_DESCRIPTIONS = {
    400: "Malformed request: bad JSON, a wrong type, a missing field or an unknown one.",
    401: "Missing, malformed or revoked API key.",
    402: "The payment provider declined the card or the charge.",
    403: "Not allowed by the merchant's portal settings.",
    404: "No such resource in your organization.",
    409: "Conflicts with the current state, or the same Idempotency-Key is still in progress.",
    413: "Request body too large.",
    422: "Well-formed but not acceptable (see detail); also an Idempotency-Key reused with another body.",
    429: "Rate limit reached; retry after Retry-After seconds.",
}
READ = (400, 401, 429)
WRITE = (*READ, 409, 413, 422)


def problems(*statuses: int, writes: bool = False) -> dict[int, ResponseSpec]:
    """problem+json responses for the always-possible statuses plus ``statuses``."""
    wanted = sorted({*(WRITE if writes else READ), *statuses})
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in wanted
    }


def example_body(value: dict[str, Any], summary: str = "Example") -> Any:
    """``Annotated[Struct, example_body({...})]`` on a handler's ``data``."""
    return Body(examples=[Example(summary=summary, value=value)])


LimitParam = QueryParameter(ge=1, le=100, description="Items per page, 1 to 100.")
CursorParam = QueryParameter(
    max_length=500, description="``next_cursor`` from the previous page; leave out for the first page."
)


API_KEY_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]
"""Set as ``security`` on every /v1 controller: the document then says which operations need a key."""
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "apiKey": SecurityScheme(
        type="http",
        scheme="bearer",
        description="Your secret API key: `Authorization: Bearer ss_sk_…`.",
    )
}
