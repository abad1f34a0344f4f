"""Domain errors carry their HTTP status and a stable ``code``; raised where they happen, mapped once to
problem+json (``type`` from the code, ``detail`` in English) and, in the portal, to a message for the code in
the customer's language (``server.portal.problems``). A subclass that means something of its own declares its
own code; ``CODES`` lists them all."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://selfserve.dev/problems/"


CODES: dict[str, type[DomainError]] = {}
"""Every code, with the error class that declares it."""


class DomainError(Exception):
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    code: ClassVar[str] = "bad_request"
    """Stable: API clients and the portal's messages key on it; never rename one."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            if cls.code in CODES:
                raise TypeError(f"{cls.__name__} repeats the code {cls.code!r} of {CODES[cls.code].__name__}")
            CODES[cls.code] = cls

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type(self) -> str:
        return problem_type(self.code)


def problem_type(code: str) -> str:
    """The problem+json ``type`` of a code: ``not_found`` is ``…/problems/not-found``."""
    return PROBLEM_BASE + code.replace("_", "-")


CODES[DomainError.code] = DomainError


class NotFound(DomainError):
    status, title, code = 404, "Not found", "not_found"


class Conflict(DomainError):
    status, title, code = 409, "Conflict", "conflict"


class Invalid(DomainError):
    status, title, code = 422, "Invalid request", "invalid"


class Unauthorized(DomainError):
    status, title, code = 401, "Unauthorized", "unauthorized"


class Forbidden(DomainError):
    status, title, code = 403, "Forbidden", "forbidden"


class RateLimited(DomainError):
    status, title, code = 429, "Too many requests", "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class PaymentFailed(DomainError):
    status, title, code = 402, "Payment failed", "payment_failed"


class Unavailable(DomainError):
    status, title, code = 503, "Service unavailable", "unavailable"
