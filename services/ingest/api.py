"""HTTP routes of the ingest service: postings, profiles, spreadsheet imports, outbox status.

Handlers validate with the shared models, make one repository call (one atomic document write
with its outbox events) and return. Publishing is the relay's job: a Kafka outage never turns
an accepted write into an error.

Access: every route names its callers (``require``); the record-level rules — an official's
counties, an employer's credit code, a seeker's own profile — are the ``_may_*`` functions
below, handed to the repository so they judge the very version a change is computed from.
Another seeker's profile answers 404 (its existence is personal data); a posting out of scope
403 (postings are public job ads). Every read or change of a profile is audited.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from services.ingest.documents import POSTING, PROFILE
from services.ingest.imports import RowGuard, apply_rows, known_header, parse_sheet
from services.ingest.repository import Allow, Conflict, Forbidden, NotFound, Repository
from services.ingest.settings import IngestSettings
from services.ingest.spreadsheet import SpreadsheetError, TooManyRows, read_sheet
from services.ingest.template import XLSX_MEDIA_TYPE, build_template
from shared.audit import AuditLog
from shared.auth import AUTH_RESPONSES, Principal, Role, forbidden, hidden, require
from shared.errors import CONFLICT, NOT_FOUND, ErrorOut, Responses
from shared.logging import get_logger
from shared.models import PostingIn, ProfileIn
from shared.outbox import OutboxRelay
from shared.store.base import Doc

log = get_logger("ingest.api")

router = APIRouter(prefix="/v1", responses=AUTH_RESPONSES)

# Who may call what; the record-level scope is checked inside each route.
PostingReader = Annotated[Principal, Depends(require(Role.official, Role.employer, Role.seeker))]
PostingWriter = Annotated[Principal, Depends(require(Role.official, Role.employer))]
ProfileOfficer = Annotated[Principal, Depends(require(Role.official))]
ProfileReader = Annotated[Principal, Depends(require(Role.official, Role.seeker))]
Importer = Annotated[Principal, Depends(require(Role.official, Role.employer))]
Admin = Annotated[Principal, Depends(require())]

# Answers of the routes that load one record (404) and change it under a version guard (409).
ONE = NOT_FOUND
CHANGE = NOT_FOUND | CONFLICT

MAX_PAGE = 200
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PostingStatusQ = Literal["open", "closed"]
ProfileStatusQ = Literal["looking", "hired", "paused"]


After = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern="^[0-9A-Za-z_-]*$",
        description="keyset cursor: the `next` of the previous page ('' for the first); pages in id "
        "order without counting, at a constant cost per page (offset and total are then not used)",
    ),
]


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int | None  # None on keyset pages (``after``): counting is what makes deep pages slow
    limit: int
    offset: int
    next: str | None = None  # with ``after``: the cursor of the next page, None on the last one


async def _page(
    repo: Repository, *, only: str | None, limit: int, offset: int, after: str | None, scope: Any
) -> Page:
    if after is None:
        items, total = await repo.page(status=only, limit=limit, offset=offset, scope=scope)
        return Page(items=items, total=total, limit=limit, offset=offset)
    items, cursor = await repo.page_after(status=only, limit=limit, after=after, scope=scope)
    return Page(items=items, total=None, limit=limit, offset=0, next=cursor)


class ProfileStatusIn(BaseModel):
    status: ProfileStatusQ


def _postings(request: Request) -> Repository:
    repo: Repository = request.app.state.postings
    return repo


def _profiles(request: Request) -> Repository:
    repo: Repository = request.app.state.profiles
    return repo


def _audit(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


def _not_found(kind: str, id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{kind} {id} 不存在或已删除")


async def _guard(kind: str, id: str, call: Any, principal: Principal | None = None) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await call
        return result
    except NotFound:
        raise _not_found(kind, id) from None
    except Forbidden:
        assert principal is not None
        if kind == "profile":  # whether this person is registered is itself personal data
            raise hidden(principal, f"{kind} {id}", f"{kind} {id} 不存在或已删除") from None
        raise forbidden(principal, f"{kind} {id}") from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{kind} {id} 正在被同时修改，请重试") from exc


# --- scopes ----------------------------------------------------------------------------------


def _posting_owner(doc: Doc) -> str | None:
    code = (doc["data"].get("employer") or {}).get("credit_code")
    return str(code) if code else None


def _may_edit_posting(principal: Principal) -> Allow:
    return lambda doc: (
        principal.covers_area(POSTING.adcode_of(doc["data"])) or principal.owns_employer(_posting_owner(doc))
    )


def _may_read_posting(principal: Principal) -> Allow:
    # Postings are public job ads: a seeker may read any; the others see what they may edit.
    edit = _may_edit_posting(principal)
    return lambda doc: principal.role == Role.seeker or edit(doc)


def _may_touch_profile(principal: Principal) -> Allow:
    return lambda doc: (
        principal.covers_area(PROFILE.adcode_of(doc["data"])) or principal.is_seeker(doc["_id"])
    )


def _posting_list_scope(principal: Principal) -> dict[str, Any]:
    if principal.role == Role.official:
        return {"area": {"$in": list(principal.areas)}}
    if principal.role == Role.employer:
        return {"data.employer.credit_code": principal.credit_code}
    return {}  # admin, seeker: every posting


def _own_posting(principal: Principal, body: PostingIn) -> PostingIn:
    """The posting as this caller may file it: an employer's carries the employer's credit code.

    A posting that names no credit code is stamped with the key's; one naming another's is
    refused, so an employer can neither file for a competitor nor lose sight of its own posting.
    """
    if principal.role == Role.employer:
        if body.employer.credit_code not in (None, principal.credit_code):
            raise forbidden(principal, "posting for another employer")
        body.employer.credit_code = principal.credit_code
    elif not principal.covers_area(body.location.adcode):
        raise forbidden(principal, f"posting at {body.location.adcode}")
    return body


def _own_profile(principal: Principal, body: ProfileIn) -> ProfileIn:
    """An official registers (or moves) seekers only within its counties."""
    if principal.role != Role.seeker and not principal.covers_area(body.home.adcode):
        raise forbidden(principal, f"profile at {body.home.adcode}")
    return body


# --- postings --------------------------------------------------------------------------------


@router.post("/postings", status_code=status.HTTP_201_CREATED, tags=["postings"])
async def create_posting(body: PostingIn, request: Request, principal: PostingWriter) -> dict[str, Any]:
    return await _postings(request).create(_own_posting(principal, body))


@router.get("/postings", tags=["postings"])
async def list_postings(
    request: Request,
    principal: PostingReader,
    status: PostingStatusQ | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    after: After = None,
) -> Page:
    """Officials see their counties' postings, employers their own, seekers and admins all."""
    scope = _posting_list_scope(principal)
    return await _page(_postings(request), only=status, limit=limit, offset=offset, after=after, scope=scope)


@router.get("/postings/{id}", tags=["postings"], responses=ONE)
async def get_posting(id: str, request: Request, principal: PostingReader) -> dict[str, Any]:
    return await _guard("posting", id, _postings(request).get(id, _may_read_posting(principal)), principal)


@router.put("/postings/{id}", tags=["postings"], responses=CHANGE)
async def replace_posting(
    id: str, body: PostingIn, request: Request, principal: PostingWriter
) -> dict[str, Any]:
    call = _postings(request).replace(id, _own_posting(principal, body), _may_edit_posting(principal))
    return await _guard("posting", id, call, principal)


@router.post("/postings/{id}/close", tags=["postings"], responses=CHANGE)
async def close_posting(id: str, request: Request, principal: PostingWriter) -> dict[str, Any]:
    call = _postings(request).set_status(id, "closed", _may_edit_posting(principal))
    return await _guard("posting", id, call, principal)


@router.delete("/postings/{id}", status_code=status.HTTP_204_NO_CONTENT, tags=["postings"], responses=CHANGE)
async def delete_posting(id: str, request: Request, principal: PostingWriter) -> Response:
    async def delete() -> dict[str, Any]:
        await _postings(request).delete(id, _may_edit_posting(principal))
        return {}

    await _guard("posting", id, delete(), principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- profiles --------------------------------------------------------------------------------


@router.post("/profiles", status_code=status.HTTP_201_CREATED, tags=["profiles"])
async def create_profile(body: ProfileIn, request: Request, principal: ProfileOfficer) -> dict[str, Any]:
    created = await _profiles(request).create(_own_profile(principal, body))
    await _audit(request).record(principal, "profile.create", [created["id"]])
    return created


@router.get("/profiles", tags=["profiles"])
async def list_profiles(
    request: Request,
    principal: ProfileOfficer,
    status: ProfileStatusQ | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    after: After = None,
) -> Page:
    """An official lists the seekers of its counties (an admin everyone's)."""
    scope = {} if principal.is_admin else {"area": {"$in": list(principal.areas)}}
    page = await _page(_profiles(request), only=status, limit=limit, offset=offset, after=after, scope=scope)
    await _audit(request).record(principal, "profile.list", [i["id"] for i in page.items], read=True)
    return page


@router.get("/profiles/{id}", tags=["profiles"], responses=ONE)
async def get_profile(id: str, request: Request, principal: ProfileReader) -> dict[str, Any]:
    call = _profiles(request).get(id, _may_touch_profile(principal))
    profile = await _guard("profile", id, call, principal)
    await _audit(request).record(principal, "profile.read", [id], read=True)
    return profile


@router.put("/profiles/{id}", tags=["profiles"], responses=CHANGE)
async def replace_profile(
    id: str, body: ProfileIn, request: Request, principal: ProfileReader
) -> dict[str, Any]:
    """Officials edit their counties' seekers; a seeker edits their own profile."""
    allow = _may_touch_profile(principal)
    # Out of scope answers 404 before the body is judged: a 403 here would confirm the id exists.
    await _guard("profile", id, _profiles(request).get(id, allow), principal)
    call = _profiles(request).replace(id, _own_profile(principal, body), allow)
    profile = await _guard("profile", id, call, principal)
    await _audit(request).record(principal, "profile.update", [id])
    return profile


@router.post("/profiles/{id}/status", tags=["profiles"], responses=CHANGE)
async def set_profile_status(
    id: str, body: ProfileStatusIn, request: Request, principal: ProfileOfficer
) -> dict[str, Any]:
    """Officials mark hires (and pauses): the seeker stops receiving recommendations."""
    call = _profiles(request).set_status(id, body.status, _may_touch_profile(principal))
    profile = await _guard("profile", id, call, principal)
    await _audit(request).record(principal, "profile.status", [id])
    return profile


@router.delete("/profiles/{id}", status_code=status.HTTP_204_NO_CONTENT, tags=["profiles"], responses=CHANGE)
async def delete_profile(id: str, request: Request, principal: ProfileOfficer) -> Response:
    async def delete() -> dict[str, Any]:
        await _profiles(request).delete(id, _may_touch_profile(principal))
        return {}

    await _guard("profile", id, delete(), principal)
    await _audit(request).record(principal, "profile.delete", [id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- spreadsheet imports ---------------------------------------------------------------------

ImportKind = Literal["profiles", "postings"]
_KIND = {"profiles": "profile", "postings": "posting"}
_FILENAMES = {"profiles": "chunfeng-profiles-template.xlsx", "postings": "chunfeng-postings-template.xlsx"}


@router.get(
    "/imports/{kind}/template",
    tags=["imports"],
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "an XLSX template"}},
)
async def import_template(kind: ImportKind, _: Importer) -> Response:
    return Response(
        content=build_template(_KIND[kind]),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{_FILENAMES[kind]}"'},
    )


class FileProblem(BaseModel):
    loc: list[str]
    msg: str
    type: str


class FileRejected(BaseModel):
    """The whole file refused (too large, too many rows, not a sheet): one error, like a 422's."""

    detail: list[FileProblem]


IMPORT_ANSWERS: Responses = {
    413: {
        "model": FileRejected | ErrorOut,
        "description": "the file or its rows beyond INGEST_MAX_UPLOAD_BYTES or INGEST_MAX_IMPORT_ROWS "
        "(`detail[0].msg` says which); a body far beyond them is refused before it is read",
    },
}


@router.post("/imports/{kind}", tags=["imports"], responses=IMPORT_ANSWERS)
async def import_sheet(
    kind: ImportKind, request: Request, principal: Importer, file: Annotated[UploadFile, File()]
) -> JSONResponse:
    """Import a CSV or XLSX; answers a per-row report (bad rows are named, good rows stored).

    Officials import seekers and postings of their counties, employers their own postings;
    a row outside the caller's scope is rejected with the reason, the others are stored.
    """
    if kind == "profiles" and principal.role == Role.employer:
        raise forbidden(principal, "profile import")
    settings: IngestSettings = request.app.state.settings
    content = await file.read(settings.max_upload_bytes + 1)
    if len(content) > settings.max_upload_bytes:
        return _file_error(
            413, f"文件超过{settings.max_upload_bytes // (1024 * 1024) or 1}MB上限，请拆分后上传"
        )
    try:
        # Parsing a few thousand rows is CPU work: off the event loop, so other requests go on.
        sheet = await run_in_threadpool(
            read_sheet, content, max_rows=settings.max_import_rows, known=known_header(_KIND[kind])
        )
        parsed = await run_in_threadpool(parse_sheet, _KIND[kind], sheet)
    except TooManyRows as exc:
        return _file_error(413, str(exc))
    except SpreadsheetError as exc:
        return _file_error(422, str(exc))
    repo = _profiles(request) if kind == "profiles" else _postings(request)
    if principal.role == Role.employer:
        for row in parsed.rows:  # stamped like a POSTed posting; another employer's code is refused below
            if isinstance(row.model, PostingIn) and row.model.employer.credit_code is None:
                row.model.employer.credit_code = principal.credit_code
                row.payload.setdefault("employer", {})["credit_code"] = principal.credit_code
    report = await apply_rows(repo, parsed, _row_guard(principal, kind))
    log.info(
        "import done",
        kind=kind,
        format=sheet.format,
        total=report["total"],
        created=report["created"],
        updated=report["updated"],
        rejected=report["rejected"],
        principal=principal.id,
    )
    if kind == "profiles":
        ids = [r["id"] for r in report["rows"] if r["status"] in ("created", "updated")]
        await _audit(request).record(principal, "profile.import", ids)
    return JSONResponse(report)


OUT_OF_SCOPE = "不在您的管辖范围内（区县代码或企业信用代码），此行未导入"


def _row_guard(principal: Principal, kind: ImportKind) -> RowGuard | None:
    if principal.is_admin:
        return None
    if kind == "profiles":
        allow_existing = _may_touch_profile(principal)

        def profile_row(model: BaseModel, existing: Doc | None) -> str | None:
            assert isinstance(model, ProfileIn)
            if not principal.covers_area(model.home.adcode):
                return OUT_OF_SCOPE
            if existing is not None and not allow_existing(existing):
                return "该手机号已在其他地区登记，请联系管理员"
            return None

        return profile_row
    allow_posting = _may_edit_posting(principal)

    def posting_row(model: BaseModel, existing: Doc | None) -> str | None:
        assert isinstance(model, PostingIn)
        mine = (
            principal.owns_employer(model.employer.credit_code)
            if principal.role == Role.employer
            else principal.covers_area(model.location.adcode)
        )
        if not mine or (existing is not None and not allow_posting(existing)):
            return OUT_OF_SCOPE
        return None

    return posting_row


def _file_error(code: int, message: str) -> JSONResponse:
    # Same shape as FastAPI's validation errors, so clients handle one format.
    return JSONResponse(
        {"detail": [{"loc": ["body", "file"], "msg": message, "type": "file_rejected"}]}, status_code=code
    )


# --- operators -------------------------------------------------------------------------------


@router.get("/outbox", tags=["operations"])
async def outbox_status(request: Request, _: Admin) -> dict[str, Any]:
    relay: OutboxRelay = request.app.state.relay
    return await relay.stats()
