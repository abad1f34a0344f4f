"""Domain errors carry their HTTP status; raised where they happen, mapped once to problem+json."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://selfserve.dev/problems/"


class DomainError(Exception):
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str] = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class Invalid(DomainError):
    status, title, slug = 422, "Invalid request", "invalid"


class Unauthorized(DomainError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "forbidden"


class RateLimited(DomainError):
    status, title, slug = 429, "Too many requests", "rate-limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class PaymentFailed(DomainError):
    status, title, slug = 402, "Payment failed", "payment-failed"


class Unavailable(DomainError):
    status, title, slug = 503, "Service unavailable", "unavailable"
