"""The officials' dashboard: server-rendered pages over the same figures as the JSON API.

One page (``/``) answers an official's morning questions on a phone: how far the campaign is
(target, each step of the funnel, the change since the previous day), how each key enterprise's
hiring task stands, which 驻厂稳岗 check-ins are due or overdue, and the circular by county and
day, with its chart and its CSV/XLSX. Pages authenticate with the session cookie of
``services.campaign.session`` (a browser cannot send the API key header); the scope rules are
the API's (``circular_for``, ``followup_items``): an official sees only its adcode prefixes.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.campaign.api import chart_response, circular_for, circular_response, followup_items, today
from services.campaign.circular import COUNTED, Row
from services.campaign.funnel import LABELS
from services.campaign.session import DASHBOARD_ROLES, KEY_HASH, require_session, session_principal
from shared.auth import Principal, Role, hash_key, keyring_of
from shared.logging import get_logger
from shared.places import label

log = get_logger("campaign.dashboard")

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

Viewer = Annotated[Principal, Depends(require_session(*DASHBOARD_ROLES))]
Day = Annotated[date | None, Query(alias="date")]
County = Annotated[str | None, Query(pattern=r"^\d{2,12}$")]

STEPS = [(step, LABELS[step]) for step in COUNTED]


def _county_param(county: str | None) -> str | None:
    return county or None  # the form's "all counties" option sends an empty value


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    if session_principal(request) is not None:
        return RedirectResponse("/", status_code=303)
    return templates.TemplateResponse(request, "login.html", {"error": None})


def _same_origin(request: Request) -> bool:
    """A form posted from another site is refused: SameSite=Strict keeps our cookie out of such a
    request, but a cross-site login could still sign the browser in under someone else's key."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.url.netloc


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, key: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Check the pasted key once; the session then carries only its hash."""
    if not _same_origin(request):
        return templates.TemplateResponse(request, "login.html", {"error": "请从本页面登录"}, status_code=403)
    principal = keyring_of(request).authenticate(key.strip()) if key.strip() else None
    error = None
    if principal is None:
        log.warning("dashboard login refused: unknown key")
        error, status = "API密钥无效，请核对后重新粘贴", 401
    elif principal.role not in (*DASHBOARD_ROLES, Role.admin):
        log.warning("dashboard login refused: role", principal=principal.id, role=str(principal.role))
        error, status = "此页面供人社部门工作人员使用，您的密钥无权登录", 403
    if error:
        return templates.TemplateResponse(request, "login.html", {"error": error}, status_code=status)
    assert principal is not None
    request.session.clear()
    request.session[KEY_HASH] = hash_key(key.strip())
    log.info("dashboard login", principal=principal.id, role=str(principal.role))
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    if _same_origin(request):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request, principal: Viewer, date_: Day = None, county: County = None
) -> Response:
    county = _county_param(county)
    circular = await circular_for(request, principal, date_, county)
    day = circular.date
    followups = await followup_items(request, principal, day, {"due", "overdue"}, county)
    query = {"date": day.isoformat(), **({"county": county} if county else {})}
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "principal": principal,
            "areas": [(a, label(a) or a) for a in principal.areas],
            "circular": circular,
            "total": circular.total,
            "steps": STEPS,
            "counties": circular.counties,
            "enterprises": circular.enterprises,
            "followups": followups,
            "county": county,
            "county_label": (label(county) or county) if county else None,
            "day": day,
            "is_today": day == today(request),
            "query": query,
            "previous_query": {**query, "date": (day - timedelta(days=1)).isoformat()},
            "next_query": {**query, "date": (day + timedelta(days=1)).isoformat()},
            "progress": _progress,
        },
    )


def _progress(row: Row) -> int:
    """The width (percent, 0–100) of a completion bar."""
    return 0 if row.completion_rate is None else max(0, min(100, round(row.completion_rate * 100)))


@router.get("/dashboard/circular.png")
async def dashboard_chart(
    request: Request, principal: Viewer, date_: Day = None, county: County = None
) -> Any:
    return await chart_response(await circular_for(request, principal, date_, _county_param(county)))


@router.get("/dashboard/circular.{format}")
async def dashboard_download(
    request: Request,
    principal: Viewer,
    format: Literal["csv", "xlsx"],
    date_: Day = None,
    county: County = None,
) -> Any:
    return circular_response(await circular_for(request, principal, date_, _county_param(county)), format)
