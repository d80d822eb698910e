"""What every service's HTTP side has in common: JSON errors with a code, bearer-token
auth, /healthz, /readyz, /metrics and the AsyncAPI document of its NATS side."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from nats.js import JetStreamContext
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.answers import ErrorAnswer, Health, Readiness
from shared.asyncapi import camel
from shared.asyncapi_html import render as render_asyncapi
from shared.db import unavailable
from shared.errors import (
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    Malformed,
    Misdirected,
    NotFound,
    RateLimited,
    Refusal,
    TooLarge,
    Unauthorized,
    Unavailable,
    field_error,
)
from shared.ratelimit import RateLimiter
from shared.revocations import Revoked
from shared.settings import HttpSettings
from shared.tokens import Principal, TokenError, verify

log = logging.getLogger(__name__)
ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]

REQUEST_SECONDS = Histogram(
    "qianshou_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
)
# What /readyz answers, refreshed on every /readyz and every scrape: a pod that is not ready
# gets no traffic but is still scraped, so the alert rules see it.
READY = Gauge("qianshou_ready", "1 when the service's NATS and database are reachable", ["service"])


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


# The HTTP status of each kind of refusal (SPEC 3.4); intake's NATS replies carry the same.
STATUS: dict[type[Refusal], int] = {
    Malformed: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    TooLarge: 413,
    Invalid: 422,
    Misdirected: 421,
    RateLimited: 429,
    Unavailable: 503,
}
_CODES = {status: kind.code for kind, status in STATUS.items()} | {405: "method_not_allowed"}


def status_of(refusal: Refusal) -> int:
    """The HTTP status of a refusal: its kind's, or its nearest parent kind's."""
    for kind in type(refusal).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def refusal_response(refusal: Refusal) -> Response:
    return json_response(refusal.body(), status_of(refusal), refusal.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def _refused(_: Request, exc: Refusal) -> Response:
        return refusal_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        code = _CODES.get(exc.status_code, "error")
        return json_response(Refusal(str(exc.detail), code=code).body(), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        # Still JSON with a code: 503 (retry later, nothing was stored) when the database
        # is away, 500 otherwise. Each request is one transaction, so nothing is half-done.
        if unavailable(exc):
            return refusal_response(
                Unavailable("database unavailable, retry", headers={"Retry-After": "2"})
            )
        log.exception("unexpected error")
        return json_response(Refusal("internal error", code="internal").body(), 500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> Response:
        errors = [
            field_error(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()
        ]
        return refusal_response(Invalid("invalid request", errors))


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def bearer_principal(request: Request, secrets: tuple[str, ...]) -> Principal:
    """The caller named by the Authorization header; Unauthorized (no, bad, expired or
    revoked token), RateLimited (over the caller's rate limit) or Unavailable otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token", headers=_CHALLENGE)
    return token_principal(request, token.strip(), secrets)


def token_principal(request: Request, token: str, secrets: tuple[str, ...]) -> Principal:
    """The caller a token names (from a header or the dashboard's session cookie), with the
    same checks: signature, expiry, revocation, rate limit."""
    try:
        principal = verify(token, secrets)
    except TokenError as exc:
        raise Unauthorized(str(exc), headers=_CHALLENGE) from exc
    revoked = getattr(request.app.state, "revoked", None)
    if revoked is not None and not revoked.loaded:  # fail closed until the list is read
        raise Unavailable("revocation list not loaded yet; retry", headers={"Retry-After": "1"})
    if revoked is not None and principal.token_id in revoked:
        raise Unauthorized("token revoked", headers=_CHALLENGE)
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None and (wait := limiter.allow(principal.caller)):
        raise RateLimited(
            f"too many requests from {principal.caller}",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    return principal


def operation_id(route: APIRoute) -> str:
    """The OpenAPI operation id, which generated clients use as the method name: the
    handler's name in camel case (post_events -> postEvents)."""
    return camel(route.name)


_ERROR_ANSWER = {"$ref": "#/components/schemas/ErrorAnswer"}


def _document_answers(app: FastAPI) -> None:
    """Make the OpenAPI document say what the services answer, for every route whoever
    wrote it: error answers have the ErrorAnswer shape (FastAPI's own HTTPValidationError
    is never answered: our handler turns validation errors into ErrorAnswer), and every
    operation that can answer 401 carries the bearer scheme. (Authentication itself is
    bearer_principal, called by each handler, so that a refusal has the project's shape.)"""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas.update(_answer_schemas())
        components["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A token from `qianshou token issue --role agency --agency ID` "
                "(or --role province --region CODE, --role admin).",
            }
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                for status, response in responses.items():
                    if status.startswith("2"):
                        _type_files(response)
                    if status[0] not in "45":
                        continue
                    content = response.setdefault("content", {}).setdefault("application/json", {})
                    declared = content.get("schema", {}).get("$ref", "")
                    if not content.get("schema") or declared.endswith("/HTTPValidationError"):
                        content["schema"] = dict(_ERROR_ANSWER)
                if "401" in responses:
                    operation["security"] = [{"bearer": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _type_files(response: dict[str, Any]) -> None:
    """A file answer (CSV, XLSX) declared without a schema is a string (text) or bytes."""
    for media_type, content in response.get("content", {}).items():
        if "json" not in media_type and not content.get("schema"):
            binary = not media_type.startswith("text/")
            content["schema"] = {"type": "string", **({"format": "binary"} if binary else {})}


def _answer_schemas() -> dict[str, Any]:
    """ErrorAnswer and what it refers to, as OpenAPI components."""
    schema = ErrorAnswer.model_json_schema(ref_template="#/components/schemas/{model}")
    return {**schema.pop("$defs", {}), "ErrorAnswer": schema}


def _serve_swagger_ui(app: FastAPI) -> None:
    """/docs from the Swagger UI the project installs (swagger-ui-bundle-v2), so the page
    works where browsers cannot reach a CDN (a provincial intranet)."""
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def get_docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title}: HTTP API",
            swagger_js_url=f"{root}/docs-assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs-assets/swagger-ui.css",
            swagger_favicon_url="data:,",
        )


def service_app(
    name: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    readiness: ReadinessCheck,
    asyncapi: Callable[[], dict[str, Any]],
    description: str,
) -> FastAPI:
    """A FastAPI app with the endpoints SPEC 3.4 asks of every service."""
    app = FastAPI(
        title=f"Qianshou {name}",
        description=f"{description}\n\nThe NATS side of this service: [AsyncAPI](/asyncapi) "
        "([JSON](/asyncapi.json)). Every /v1 endpoint needs `Authorization: Bearer <token>`; "
        "errors are JSON `{code, message, errors: [{code, path, message}]}`.",
        version="1.0.0",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # served below from the installed Swagger UI, not from a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    _document_answers(app)

    @app.middleware("http")
    async def _timing(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        REQUEST_SECONDS.labels(name, request.method, path, str(response.status_code)).observe(
            time.perf_counter() - start
        )
        return response

    @app.get("/healthz", tags=["operations"], response_model=Health)
    async def get_health() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready: see checks."}},
    )
    async def get_readiness() -> Response:
        """Its NATS connection and its database are reachable."""
        checks = await readiness()
        ready = all(checks.values())
        READY.labels(name).set(1 if ready else 0)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        READY.labels(name).set(1 if all((await readiness()).values()) else 0)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["operations"], response_model=dict[str, Any])
    async def get_asyncapi() -> dict[str, Any]:
        """The AsyncAPI 3.0 document of this service's NATS side."""
        return asyncapi()

    _serve_swagger_ui(app)

    @app.get("/asyncapi", tags=["operations"], response_class=HTMLResponse)
    async def get_asyncapi_page() -> HTMLResponse:
        """The AsyncAPI document as a page to read."""
        return HTMLResponse(render_asyncapi(asyncapi()))

    return app


def run(app: FastAPI, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT; uvicorn then stops accepting and lets requests finish."""
    import logging

    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvicorn.run(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10, lifespan="on"
    )


def guard(app: FastAPI, js: JetStreamContext, http: HttpSettings) -> asyncio.Task[None]:
    """Turn on token revocation (followed from NATS) and per-caller rate limits for `app`;
    returns the task that follows revocations (cancel it on shutdown)."""
    revoked = Revoked()
    app.state.revoked = revoked
    app.state.rate_limiter = RateLimiter(http.rate_limit_per_s, http.rate_burst)
    return asyncio.create_task(revoked.follow(js), name="revocations")


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel background tasks and wait until each has finished."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
