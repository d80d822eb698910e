"""Turn pydantic's validation errors into the public error shape: code, field path, message."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from pydantic import ValidationError

from shared.clock import Clock, clock_from_env, today_in_china
from shared.errors import FieldError, field_error
from shared.events import Envelope, incoming_events, upcast


def field_path(loc: tuple[int | str, ...], type_name: object) -> str:
    """`('visit-logged', 'payload', 'duration_min')` -> `payload.duration_min`."""
    parts = list(loc)
    if parts and parts[0] == type_name:  # the discriminated union's tag is not a field
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "type" if not parts else out


def _code(error_type: str) -> str:
    if error_type == "extra_forbidden":
        return "unknown_field"
    if error_type == "missing":
        return "missing_field"
    if error_type.startswith("union_tag"):
        return "unknown_type"
    if error_type == "timezone_aware":
        return "naive_timestamp"
    if error_type == "literal_error":
        return "invalid_value"
    if error_type in ("control_character", "implausible_date"):  # shared/events.py's own
        return error_type
    return "invalid"


def field_errors(exc: ValidationError, raw: Any) -> list[FieldError]:
    """The errors of one event, each naming the field path it concerns."""
    type_name = raw.get("type") if isinstance(raw, dict) else None
    return [
        field_error(field_path(tuple(err["loc"]), type_name), err["msg"], _code(err["type"]))
        for err in exc.errors(include_url=False)
    ]


_clock: Clock | None = None


def intake_today() -> date:
    """Today in China by intake's clock: the plausible-date rule is relative to it."""
    global _clock
    if _clock is None:
        _clock = clock_from_env()
    return today_in_china(_clock)


def validate_incoming(
    raw: Any, today: date | None = None
) -> tuple[Envelope | None, list[FieldError]]:
    """Validate one decoded JSON value as an incoming event (dates judged against `today`,
    by default intake's clock)."""
    if not isinstance(raw, dict):
        return None, [field_error("", "an event must be a JSON object")]
    try:
        context = {"today": today or intake_today()}
        return incoming_events.validate_python(upcast(raw), context=context), []
    except ValidationError as exc:
        return None, field_errors(exc, raw)


def decode_json(body: bytes) -> Any:
    """Parse a request body; raises ValueError on malformed JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON: {exc}") from exc
