"""How the services' OpenAPI documents declare their error answers: the statuses and codes
come from the one error vocabulary (shared/errors.py, and shared/http.py's status of each
kind); the shape is ErrorAnswer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from shared.answers import ErrorAnswer
from shared.http import STATUS

# What each status means to a client (the kinds' own docstrings speak to developers).
_MEANING = {
    400: "Malformed: not JSON, or not the shape asked for.",
    401: "No bearer token, or a bad, expired or revoked one.",
    403: "Not yours: outside the caller's agency, pairing or region.",
    404: "No such thing (or not visible to the caller).",
    409: "Conflicts with what is stored.",
    410: "Gone: the client's personal data was erased.",
    413: "Too large: the body or the batch.",
    422: "Invalid, with each field's path.",
    429: "Over the caller's rate limit; see Retry-After.",
    503: "Unavailable for now (database, NATS, back-pressure); nothing was stored; see "
    "Retry-After.",
}
# Precise codes that some refusals carry instead of their kind's (`code=` in shared/errors).
PRECISE_CODES: dict[int, tuple[str, ...]] = {503: ("backlogged",)}
# Every endpoint that needs a token can answer these.
AUTHENTICATED = (401, 422, 429, 503)


def codes(status: int) -> tuple[str, ...]:
    """The machine-readable codes an error answer of `status` carries."""
    kinds = tuple(kind.code for kind, s in STATUS.items() if s == status)
    if not kinds:
        raise ValueError(f"no kind of refusal answers {status} (shared/http.py STATUS)")
    return kinds + PRECISE_CODES.get(status, ())


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` for error statuses: the ErrorAnswer shape, with an example of
    each code."""
    return {
        status: {
            "model": ErrorAnswer,
            "description": _MEANING.get(status, "Refused."),
            "content": {
                "application/json": {
                    "examples": {
                        code: {
                            "value": {
                                "code": code,
                                "message": _MEANING.get(status, "Refused."),
                                "errors": [],
                            }
                        }
                        for code in codes(status)
                    }
                }
            },
        }
        for status in statuses
    }


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with its definitions written in place, for a request body
    given by hand (openapi_extra): pydantic's `#/$defs/...` references do not resolve
    inside an OpenAPI document."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(definitions[ref.rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


Examples = dict[tuple[str, str, str], dict[str, Any]]


def add_examples(app: FastAPI, examples: Examples) -> None:
    """Named examples of answers, by (method, path, status), put into the document after
    FastAPI builds it: FastAPI drops every null from the examples it is given."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        for (method, path, status), named in examples.items():
            response = schema["paths"][path][method]["responses"][status]
            content = response.setdefault("content", {}).setdefault("application/json", {})
            content["examples"] = named
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
