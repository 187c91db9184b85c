"""Signing officials into the dashboard: a browser cannot send ``Authorization: Bearer``, so an
official pastes their API key once into the login page and the browser keeps a session cookie.

The cookie is Starlette's ``SessionMiddleware`` cookie: signed with ``CAMPAIGN_SESSION_SECRET``
(itsdangerous), HttpOnly (no script reads it), SameSite=Strict (no other site's page can make
the browser send it, which is what keeps the logout form and the pages safe from cross-site
requests), and it expires after ``CAMPAIGN_SESSION_MAX_AGE_S``. It holds the key's SHA-256, never
the key (the cookie is signed, not encrypted): each request looks the hash up in the key ring,
so removing a key from ``CHUNFENG_API_KEYS`` ends its sessions at the next restart, as it ends
its API access. The JSON APIs ignore the cookie and keep wanting the header.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.middleware.sessions import SessionMiddleware

from services.campaign.settings import CampaignSettings
from shared.auth import Principal, Role, forbidden, keyring_of
from shared.logging import get_logger

log = get_logger("campaign.session")

COOKIE = "chunfeng_session"
KEY_HASH = "key_sha256"
# Who may sign in to the dashboard: it shows the circulars and follow-ups of counties.
DASHBOARD_ROLES = (Role.official,)


class LoginRequired(Exception):
    """No valid session: a page answers with the login page instead."""


def install_sessions(app: FastAPI, settings: CampaignSettings) -> None:
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    if secret is None:
        log.warning("CAMPAIGN_SESSION_SECRET unset: dashboard sessions end when campaign restarts")
        secret = secrets.token_urlsafe(32)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=COOKIE,
        max_age=settings.session_max_age_s,
        same_site="strict",
        https_only=settings.session_https_only,
    )

    async def to_login(request: Request, _exc: Exception) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    app.add_exception_handler(LoginRequired, to_login)


def session_principal(request: Request) -> Principal | None:
    digest = request.session.get(KEY_HASH)
    return keyring_of(request).by_hash(digest) if isinstance(digest, str) else None


def require_session(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Like ``shared.auth.require`` for pages: the principal of the session cookie, or the login
    page; carries ``roles`` so the route walker of the access-control test sees the declaration."""
    admitted = frozenset(roles) | {Role.admin}

    async def check(request: Request) -> Principal:
        principal = session_principal(request)
        if principal is None:
            request.session.clear()
            raise LoginRequired()
        if principal.role not in admitted:
            raise forbidden(principal, f"{request.method} {request.url.path}")
        request.state.principal = principal
        return principal

    check.roles = admitted  # type: ignore[attr-defined]
    return check
