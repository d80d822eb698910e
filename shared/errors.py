"""The one error vocabulary: use cases raise these, and each front door (HTTP in
shared/http.py, intake's NATS replies in services/intake/bus.py) turns them into an answer.

Every refusal has a machine-readable `code` (the kind's default, or a more precise one such
as `backlogged`), a message for people, and the field errors it concerns. Rules never know
about HTTP statuses: the mapping from kind to status lives with the front doors.
"""

from __future__ import annotations

from typing import Any, ClassVar

FieldError = dict[str, str]  # {"code": ..., "path": ..., "message": ...}


def field_error(path: str, message: str, code: str = "invalid") -> FieldError:
    """One error about one field, named by its path (`payload.duration_min`, `from`)."""
    return {"code": code, "path": path, "message": message}


class Refusal(Exception):
    """A request (or one of its parts) is refused; the kind says why."""

    code: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        errors: list[FieldError] | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.headers = headers
        if code is not None:
            self.code = code  # type: ignore[misc]  # a precise code for this one refusal

    def body(self) -> dict[str, Any]:
        """The JSON every front door answers with."""
        return {"code": self.code, "message": self.message, "errors": self.errors}


class Malformed(Refusal):
    """Not readable at all (bad JSON, wrong shape)."""

    code = "malformed"


class Unauthorized(Refusal):
    """No, bad, expired or revoked credentials."""

    code = "unauthorized"


class Forbidden(Refusal):
    """The caller is known but may not do this."""

    code = "forbidden"


class NotFound(Refusal):
    code = "not_found"


class Gone(Refusal):
    """It existed and was deliberately destroyed (an erased client)."""

    code = "erased"


class Conflict(Refusal):
    """Clashes with what is stored (an id reused with other content)."""

    code = "conflict"


class TooLarge(Refusal):
    code = "too_large"


class Invalid(Refusal):
    """Readable but wrong: the field errors say where."""

    code = "invalid"


class RateLimited(Refusal):
    code = "rate_limited"


class Misdirected(Refusal):
    """Asked of the wrong instance (a reporting shard outside its regions): ask another."""

    code = "wrong_shard"


class Unavailable(Refusal):
    """Not now, nothing stored: retry later."""

    code = "unavailable"


def invalid(path: str, message: str, code: str = "invalid") -> Invalid:
    """A refusal about one field (the common case)."""
    return Invalid(message, [field_error(path, message, code)])
