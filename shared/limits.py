"""Limits every service applies before a request reaches its route: body size and request rate.

Both are plain ASGI middleware (``install_limits`` adds them), answering with the JSON shape of
every other error (``{"detail": "…"}``) and documented in each operation's OpenAPI by
``shared.errors``.

**Body size.** A request whose body is larger than ``max_body_bytes`` is answered 413 without
being read further: the ``Content-Length`` is judged first, and a body sent without one
(chunked) is counted as it arrives. Some routes need more (ingest's spreadsheet uploads): they
get their own cap by path prefix.

**Rate.** Each caller gets ``rate_limit`` requests (``limits`` notation, e.g. ``6000/minute`` or
``50/second;6000/minute``) in a moving window, counted per API key's principal, or per client
IP when no known key is presented (so guessing keys is throttled too). Beyond it: 429 with
``Retry-After`` in seconds. Admins, trusted operators and their tools (the demo loader, the
pipeline benchmark), are not counted unless ``rate_limit_admins`` is set. The counters are held
in the process's memory (the ``limits`` library's memory storage): each process counts its own,
and a restart forgets them; several instances of one service would need the library's Redis
storage behind the same interface. The probes and ``/metrics`` are never limited.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping

from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import KeyRing, Principal, Role
from shared.logging import get_logger

log = get_logger("limits")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RATE_LIMIT = "6000/minute"


def parse_rate(value: str) -> list[RateLimitItem]:
    """``6000/minute`` or ``50/second;6000/minute``; an empty value means no limit."""
    if not value.strip():
        return []
    try:
        return list(parse_many(value))
    except ValueError as exc:
        raise ValueError(
            f"not a rate limit ({value!r}): write e.g. 6000/minute or 50/second;6000/minute"
        ) from exc


async def _answer(send: Send, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    """Raised from ``receive`` while a route reads the body. An ``HTTPException``, so FastAPI's
    body parsing lets it through (it turns other errors into a 400) to the JSON error handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"请求体超过{limit}字节上限")


class BodySizeLimit:
    """413 for a request body over the limit (``larger`` maps path prefixes to their own caps)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app, self.max_bytes, self.larger = app, max_bytes, dict(larger or {})

    def limit_for(self, path: str) -> int:
        return next((cap for prefix, cap in self.larger.items() if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, _TooLarge(limit).detail)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except _TooLarge as exc:  # read outside a route (a middleware): answered here
            if not started:
                await _answer(send, 413, exc.detail)


class RateLimit:
    """429 with ``Retry-After`` once a caller has used up its requests (see the module's text)."""

    def __init__(
        self,
        app: ASGIApp,
        rate: str,
        keyring: Callable[[], KeyRing],
        *,
        prefixes: tuple[str, ...] = ("/v1/",),
        limit_admins: bool = False,
        storage: MemoryStorage | None = None,
    ) -> None:
        self.app, self.items, self.keyring = app, parse_rate(rate), keyring
        self.prefixes, self.limit_admins = prefixes, limit_admins
        self.limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    def caller(self, scope: Scope) -> tuple[str, Principal | None]:
        """The principal behind the bearer key, else the client's address."""
        auth = dict(scope.get("headers") or ()).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = auth.partition(" ")
        principal = self.keyring().authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if principal is not None:
            return f"key:{principal.id}", principal
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}", None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.items or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        key, principal = self.caller(scope)
        if principal is not None and principal.role == Role.admin and not self.limit_admins:
            await self.app(scope, receive, send)
            return
        # Test every window first and count the request only if all admit it: a refused request
        # must not use up the longer windows.
        if all(self.limiter.test(item, key) for item in self.items):
            for item in self.items:
                self.limiter.hit(item, key)
            await self.app(scope, receive, send)
            return
        now = time.time()
        resets = [
            self.limiter.get_window_stats(item, key).reset_time
            for item in self.items
            if not self.limiter.test(item, key)
        ]
        retry_after = max(1, math.ceil(max(resets) - now))
        log.warning("rate limited", caller=key, path=scope["path"], retry_after=retry_after)
        await _answer(send, 429, f"请求过于频繁，请{retry_after}秒后重试", {"Retry-After": str(retry_after)})


def install_limits(app: FastAPI, settings: object, larger_bodies: Mapping[str, int] | None = None) -> None:
    """Add both limits to ``app`` from the service's settings (``max_body_bytes``, ``rate_limit``,
    ``rate_limit_admins``); ``larger_bodies`` gives some path prefixes a larger body cap."""
    app.add_middleware(
        RateLimit,
        rate=str(getattr(settings, "rate_limit", DEFAULT_RATE_LIMIT)),
        keyring=lambda: app.state.keyring,
        limit_admins=bool(getattr(settings, "rate_limit_admins", False)),
    )
    # Added last, so it runs first: an oversized body is refused before anything else is done.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=int(getattr(settings, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)),
        larger=larger_bodies,
    )
