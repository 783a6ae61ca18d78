"""Domain errors: a machine code and a human message.

Entry points map ``code`` to a transport status in one place
(``entrypoints/api/problems.py``); the domain never knows about HTTP.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal the domain can give.

    ``code`` is stable and machine-readable (``seat_limit_reached``);
    ``message`` is a sentence for a person; ``field`` names the input at fault,
    if any; ``extra`` carries structured facts (a pool's numbers, ...).
    """

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra


class InvalidInput(DomainError):
    """Input that breaks a rule of form (422). ``field`` names it."""

    code = "invalid_input"


class NotFound(DomainError):
    """An id that is malformed, unknown, or another account's (404)."""

    code = "not_found"


class Conflict(DomainError):
    """A request that clashes with the current state (409)."""

    code = "conflict"


class DuplicateEmail(Conflict):
    code = "duplicate_email"


class SeatLimitReached(Conflict):
    """A `block` (or full `inactive_when_full`) pool refused a seat."""

    code = "seat_limit_reached"


class ContractEnded(Conflict):
    """§4 Terms: after an end_date with no newer version, no seat can be taken."""

    code = "contract_ended"


class AdminRuleViolation(Conflict):
    """Rule §2.3: an account keeps at least one active owner or admin."""

    code = "admin_rule"


class RuleRefusal(DomainError):
    """A business rule refused a well-formed request (422, reason in the message),
    e.g. a seat-change request below the minimum."""

    code = "rule_refused"


class Gone(DomainError):
    """Something that existed and can no longer be used (an expired invitation)."""

    code = "gone"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class BodyTooLarge(DomainError):
    """A request body over the size the API accepts (413)."""

    code = "body_too_large"


class UnsupportedMediaType(DomainError):
    """A body that is not JSON sent to a route that takes JSON (415)."""

    code = "unsupported_media_type"


class RateLimited(DomainError):
    """A caller over its request rate (429); ``retry_after`` is in seconds."""

    code = "rate_limited"


class Unavailable(DomainError):
    """Something the request needs is unreachable for now (503): retry later."""

    code = "unavailable"
