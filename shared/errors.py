"""Error answers the OpenAPI tells the truth about: one body shape per status, declared once.

Clients (and the schemathesis fuzz test, ``tests/unit/test_fuzz_openapi.py``) read each route's
documented responses as a promise, so:

- routes declare the answers they really give with the dictionaries below (``NOT_FOUND``,
  ``CONFLICT`` …), merged with ``|``: ``responses=NOT_FOUND | CONFLICT``;
- answers every route may give whatever it does — 429 from the rate limit, 400 (unreadable) and
  413 (too large) on routes that take a body, 503 while the database is down — are added to every
  operation of the app by ``install_error_handling``, so a route added later needs no care;
- a rule the schema cannot express (exactly one of two parameters, a check digit) answers a 422
  in FastAPI's own validation shape (``unprocessable``), never a bare string: one 422 format;
- a 405 lists in ``Allow`` every method the path has, not only those of the first route that
  matched it (Starlette's default, wrong when GET and PUT of one path are separate routes).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

Responses = dict[int | str, dict[str, Any]]


class ErrorOut(BaseModel):
    """Every error but a 422: one sentence for the person in front of the screen (often Chinese)."""

    detail: str


AUTH_ERRORS: Responses = {
    401: {"model": ErrorOut, "description": "no key, or an unknown key (`WWW-Authenticate: Bearer`)"},
    403: {"model": ErrorOut, "description": "the key's role or scope does not allow this"},
}
NOT_FOUND: Responses = {
    404: {"model": ErrorOut, "description": "no such record, or one the caller may not know exists"}
}
CONFLICT: Responses = {
    409: {"model": ErrorOut, "description": "the request does not fit the record's state; `detail` says why"}
}
UNREADABLE: Responses = {
    400: {
        "model": ErrorOut,
        "description": "the body could not be read (not UTF-8 JSON, a broken multipart form)",
    }
}
TOO_LARGE: Responses = {
    413: {"model": ErrorOut, "description": "the request body is larger than the service accepts"}
}
RATE_LIMITED: Responses = {
    429: {
        "model": ErrorOut,
        "description": "too many requests from this caller; retry after `Retry-After` seconds",
        "headers": {
            "Retry-After": {
                "description": "seconds to wait before the next request",
                "schema": {"type": "integer", "minimum": 1},
                "required": True,
            }
        },
    }
}
UNAVAILABLE: Responses = {
    503: {"model": ErrorOut, "description": "the database is unavailable for a moment; retry later"}
}


def unprocessable(loc: tuple[str | int, ...], message: str, value: Any = None) -> RequestValidationError:
    """A 422 for a rule the schema cannot express, in the shape of every other 422.

    The error ``type`` is ``value_error``, as for the models' own cross-field rules: the fuzz
    test accepts a 422 for schema-valid input only when every error is of that kind.
    """
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message, "input": value}])


def effective_routes(app: FastAPI) -> list[BaseRoute]:
    """Every route of ``app`` with its full path, through included routers.

    FastAPI 0.16x keeps an included router as one entry of ``app.routes`` (``_IncludedRouter``)
    instead of copying its routes up, so walking ``app.routes`` alone sees no API route at all.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        return list(app.routes)
    return [context.route for context in iter_route_contexts(app.routes)]


def allowed_methods(app: FastAPI, scope: dict[str, Any]) -> list[str]:
    """Every method some route of ``app`` answers on this path."""
    methods: set[str] = set()
    for route in effective_routes(app):
        match, _ = route.matches({**scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _add_shared_responses(schema: dict[str, Any], limited: frozenset[str]) -> None:
    """Add to the generated OpenAPI the answers no route writes itself (429, 503, 413)."""
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "ErrorOut", ErrorOut.model_json_schema()
    )

    def answer(spec: dict[str, Any]) -> dict[str, Any]:
        out = {"description": spec["description"], "content": {"application/json": {"schema": error_ref}}}
        if "headers" in spec:
            out["headers"] = spec["headers"]
        return out

    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if any(path.startswith(prefix) for prefix in limited):
                responses.setdefault("429", answer(RATE_LIMITED[429]))
                responses.setdefault("503", answer(UNAVAILABLE[503]))
            if "requestBody" in operation:
                responses.setdefault("400", answer(UNREADABLE[400]))
                responses.setdefault("413", answer(TOO_LARGE[413]))


def install_error_handling(app: FastAPI, *, limited_prefixes: tuple[str, ...] = ("/v1/",)) -> None:
    """The 405 handler and the shared responses in the app's OpenAPI.

    ``limited_prefixes`` are the paths the rate limit and the store's 503 apply to (the API, not
    the probes): their operations document 429 and 503.
    """
    prefixes = frozenset(limited_prefixes)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code != 405:
            return await http_exception_handler(request, exc)
        headers = dict(exc.headers or {}) | {"Allow": ", ".join(allowed_methods(app, dict(request.scope)))}
        return JSONResponse({"detail": exc.detail}, status_code=405, headers=headers)

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _add_shared_responses(generate(), prefixes)  # FastAPI caches it in app.openapi_schema
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
