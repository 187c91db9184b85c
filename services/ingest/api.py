"""HTTP routes of the ingest service: postings, profiles, spreadsheet imports, outbox status.

Handlers validate with the shared models, make one repository call (one atomic document write
with its outbox events) and return. Publishing is the relay's job: a Kafka outage never turns
an accepted write into an error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, Query, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from services.ingest.imports import apply_rows, parse_sheet
from services.ingest.repository import Conflict, NotFound, Repository
from services.ingest.settings import IngestSettings
from services.ingest.spreadsheet import SpreadsheetError, TooManyRows, read_sheet
from services.ingest.template import XLSX_MEDIA_TYPE, build_template
from shared.logging import get_logger
from shared.models import PostingIn, ProfileIn
from shared.outbox import OutboxRelay

log = get_logger("ingest.api")

router = APIRouter(prefix="/v1")

MAX_PAGE = 200
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PostingStatusQ = Literal["open", "closed"]
ProfileStatusQ = Literal["looking", "hired", "paused"]


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class ProfileStatusIn(BaseModel):
    status: ProfileStatusQ


def _postings(request: Request) -> Repository:
    repo: Repository = request.app.state.postings
    return repo


def _profiles(request: Request) -> Repository:
    repo: Repository = request.app.state.profiles
    return repo


def _not_found(kind: str, id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{kind} {id} 不存在或已删除")


async def _guard(kind: str, id: str, call: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await call
        return result
    except NotFound:
        raise _not_found(kind, id) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{kind} {id} 正在被同时修改，请重试") from exc


# --- postings --------------------------------------------------------------------------------


@router.post("/postings", status_code=status.HTTP_201_CREATED, tags=["postings"])
async def create_posting(body: PostingIn, request: Request) -> dict[str, Any]:
    return await _postings(request).create(body)


@router.get("/postings", tags=["postings"])
async def list_postings(
    request: Request, status: PostingStatusQ | None = None, limit: Limit = 50, offset: Offset = 0
) -> Page:
    items, total = await _postings(request).page(status=status, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/postings/{id}", tags=["postings"])
async def get_posting(id: str, request: Request) -> dict[str, Any]:
    return await _guard("posting", id, _postings(request).get(id))


@router.put("/postings/{id}", tags=["postings"])
async def replace_posting(id: str, body: PostingIn, request: Request) -> dict[str, Any]:
    return await _guard("posting", id, _postings(request).replace(id, body))


@router.post("/postings/{id}/close", tags=["postings"])
async def close_posting(id: str, request: Request) -> dict[str, Any]:
    return await _guard("posting", id, _postings(request).set_status(id, "closed"))


@router.delete("/postings/{id}", status_code=status.HTTP_204_NO_CONTENT, tags=["postings"])
async def delete_posting(id: str, request: Request) -> Response:
    try:
        await _postings(request).delete(id)
    except NotFound:
        raise _not_found("posting", id) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"posting {id} 正在被同时修改，请重试") from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- profiles --------------------------------------------------------------------------------


@router.post("/profiles", status_code=status.HTTP_201_CREATED, tags=["profiles"])
async def create_profile(body: ProfileIn, request: Request) -> dict[str, Any]:
    return await _profiles(request).create(body)


@router.get("/profiles", tags=["profiles"])
async def list_profiles(
    request: Request, status: ProfileStatusQ | None = None, limit: Limit = 50, offset: Offset = 0
) -> Page:
    items, total = await _profiles(request).page(status=status, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/profiles/{id}", tags=["profiles"])
async def get_profile(id: str, request: Request) -> dict[str, Any]:
    return await _guard("profile", id, _profiles(request).get(id))


@router.put("/profiles/{id}", tags=["profiles"])
async def replace_profile(id: str, body: ProfileIn, request: Request) -> dict[str, Any]:
    return await _guard("profile", id, _profiles(request).replace(id, body))


@router.post("/profiles/{id}/status", tags=["profiles"])
async def set_profile_status(id: str, body: ProfileStatusIn, request: Request) -> dict[str, Any]:
    """Officials mark hires (and pauses): the seeker stops receiving recommendations."""
    return await _guard("profile", id, _profiles(request).set_status(id, body.status))


@router.delete("/profiles/{id}", status_code=status.HTTP_204_NO_CONTENT, tags=["profiles"])
async def delete_profile(id: str, request: Request) -> Response:
    try:
        await _profiles(request).delete(id)
    except NotFound:
        raise _not_found("profile", id) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"profile {id} 正在被同时修改，请重试") from exc
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
async def import_template(kind: ImportKind) -> Response:
    return Response(
        content=build_template(_KIND[kind]),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{_FILENAMES[kind]}"'},
    )


@router.post("/imports/{kind}", tags=["imports"])
async def import_sheet(
    kind: ImportKind, request: Request, file: Annotated[UploadFile, File()]
) -> JSONResponse:
    """Import a CSV or XLSX; answers a per-row report (bad rows are named, good rows stored)."""
    settings: IngestSettings = request.app.state.settings
    content = await file.read(settings.max_upload_bytes + 1)
    if len(content) > settings.max_upload_bytes:
        return _file_error(
            413, f"文件超过{settings.max_upload_bytes // (1024 * 1024) or 1}MB上限，请拆分后上传"
        )
    try:
        # Parsing a few thousand rows is CPU work: off the event loop, so other requests go on.
        sheet = await run_in_threadpool(read_sheet, content, max_rows=settings.max_import_rows)
        parsed = await run_in_threadpool(parse_sheet, _KIND[kind], sheet)
    except TooManyRows as exc:
        return _file_error(413, str(exc))
    except SpreadsheetError as exc:
        return _file_error(422, str(exc))
    repo = _profiles(request) if kind == "profiles" else _postings(request)
    report = await apply_rows(repo, parsed)
    log.info(
        "import done",
        kind=kind,
        format=sheet.format,
        total=report["total"],
        created=report["created"],
        updated=report["updated"],
        rejected=report["rejected"],
    )
    return JSONResponse(report)


def _file_error(code: int, message: str) -> JSONResponse:
    # Same shape as FastAPI's validation errors, so clients handle one format.
    return JSONResponse(
        {"detail": [{"loc": ["body", "file"], "msg": message, "type": "file_rejected"}]}, status_code=code
    )


# --- operators -------------------------------------------------------------------------------


@router.get("/outbox", tags=["operations"])
async def outbox_status(request: Request) -> dict[str, Any]:
    relay: OutboxRelay = request.app.state.relay
    return await relay.stats()
