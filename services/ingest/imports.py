"""Spreadsheet rows -> validated models -> stored entities, with a per-row report.

Parsing and validation (``parse_sheet``) are pure; ``apply_rows`` stores the valid rows through
the same repository as the HTTP API. Every row is accepted or rejected with a reason, and
nothing is half-written: a row is one single-document write that carries its outbox events, so it
is stored with its events or not at all; every row is validated before the first write, and an
import cut short (a crash, a lost connection) leaves some rows stored and the others not (the
rows of an upload are written in batches, ``apply_rows``), which re-importing the same sheet
completes without duplicating anyone (below).

**Duplicates within a sheet.** A seeker is one row: a later row with the phone or ID number of
an earlier valid row is rejected, naming that row ("与第3行手机号重复"). Likewise a posting
repeated (same employer, title and workplace).

**Against what is stored** (an official re-importing the same survey, or this year's survey
after last year's, must update people, not duplicate them): a seeker row finds the stored seeker
by ID number if it has one, else by phone, and updates only the fields the sheet gives (an empty
cell keeps the stored value); found by ID number with a new phone, the phone is updated. It is
rejected instead, with the reason, when its phone belongs to one stored seeker and its ID
number to another, or when the seeker found by phone has a different ID number (a recycled
number, or a family sharing one phone: the official must decide, not the importer). A posting
is found by (employer name, title, workplace adcode).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from services.ingest.columns import (
    POSTING_COLUMNS,
    PROFILE_COLUMNS,
    CellError,
    Column,
    convert,
    header_index,
    is_empty,
    normalise_header,
)
from services.ingest.documents import POSTING, PROFILE, Kind, id_number_key, identity_key
from services.ingest.repository import Conflict, NotFound, Repository
from services.ingest.spreadsheet import HEADER_SEARCH_ROWS, KnownHeader, Sheet, SpreadsheetError
from shared.models import ADCODE_PATTERN, PHONE_PATTERN, RIC_PATTERN, USCC_PATTERN
from shared.store.base import Doc, gather_writes

RowGuard = Callable[[BaseModel, Doc | None], str | None]
"""May the importer store this model (over this existing document)? None if so, else the reason."""

COLUMNS: dict[str, tuple[Column, ...]] = {"profile": PROFILE_COLUMNS, "posting": POSTING_COLUMNS}
KINDS: dict[str, Kind] = {"profile": PROFILE, "posting": POSTING}

# Errors raised by a model validator (no single field) and the columns they are about.
_MODEL_LEVEL: dict[str, str] = {"profile": "身份证号、出生年份", "posting": "招聘人数、已招人数"}
_NESTED_LEVEL: dict[str, str] = {"wage": "月薪下限、月薪上限", "requirements": "最低年龄、最高年龄"}

# The English reasons of shared.models, as an official should read them.
_REASONS: tuple[tuple[str, str], ...] = (
    ("not a mainland mobile number", "不是有效的大陆手机号（11位，以13–19开头）"),
    ("not a valid identity-card number", "身份证号无效（校验位或出生日期不对）"),
    ("unknown adcode", "未知的区县代码"),
    ("adcode must be", "区县代码须为6位（区县）或9位（乡镇）数字"),
    ("disagrees with the ID number", "出生年份与身份证号不符"),
    ("wage.max must be at least", "月薪上限不能低于月薪下限"),
    ("max_age must be at least", "最高年龄不能低于最低年龄"),
    ("filled cannot exceed headcount", "已招人数不能超过招聘人数"),
    ("unified social credit code", "统一社会信用代码须为18位（数字和大写字母）"),
)

# The formats the schema states as patterns (shared.models), as an official should read them.
_PATTERNS: dict[str, str] = {
    PHONE_PATTERN: "不是有效的大陆手机号（11位，以13–19开头）",
    ADCODE_PATTERN: "区县代码须为6位（区县）或9位（乡镇）数字",
    USCC_PATTERN: "统一社会信用代码须为18位（数字和大写字母）",
    RIC_PATTERN: "身份证号须为18位（数字，末位可为X）",
}


@dataclass(slots=True)
class RowError:
    column: str
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"column": self.column, "field": self.field, "reason": self.reason}


@dataclass(slots=True)
class ParsedRow:
    row: int
    payload: dict[str, Any]  # only what the sheet gave, nested as the API expects
    model: BaseModel | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass(slots=True)
class ParsedSheet:
    kind: str
    columns: list[Column | None]  # per sheet column; None for an ignored header
    ignored: list[str]
    rows: list[ParsedRow]


def map_headers(kind: str, headers: list[str]) -> tuple[list[Column | None], list[str]]:
    """Which column each header is; ``SpreadsheetError`` if a required one is missing."""
    index = header_index(COLUMNS[kind])
    mapped: list[Column | None] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for header in headers:
        col = index.get(normalise_header(header))
        if col is not None and col.field in seen:
            raise SpreadsheetError(f"表头「{header}」与「{seen[col.field]}」重复，请删除其中一列")
        if col is None:
            if header:
                ignored.append(header)
        else:
            seen[col.field] = header
        mapped.append(col)
    missing = [c.header for c in COLUMNS[kind] if c.required and c.field not in seen]
    if missing:
        raise SpreadsheetError(
            f"缺少必填列：{'、'.join(missing)}（表头须在前{HEADER_SEARCH_ROWS}行内，可下载模板对照）"
        )
    return mapped, ignored


def known_header(kind: str) -> KnownHeader:
    """Whether a header cell names one of this kind's columns (for finding the header row)."""
    index = header_index(COLUMNS[kind])
    return lambda header: normalise_header(header) in index


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` wins; nested objects merge, lists and scalars are replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def reason_of(error: Any) -> str:
    """A pydantic error dict as a Chinese sentence."""
    etype, ctx, msg = error.get("type", ""), error.get("ctx") or {}, str(error.get("msg", ""))
    if etype == "missing":
        return "必填，不能为空"
    if etype == "value_error":
        for english, chinese in _REASONS:
            if english in msg:
                value = error.get("input")
                return f"{chinese}：{value}" if english == "unknown adcode" else chinese
        return msg.removeprefix("Value error, ")
    if etype == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern")), "格式不对")
    if etype == "greater_than_equal":
        return f"不能小于{ctx.get('ge')}"
    if etype == "less_than_equal":
        return f"不能大于{ctx.get('le')}"
    if etype == "greater_than":
        return f"须大于{ctx.get('gt')}"
    if etype == "less_than":
        return f"须小于{ctx.get('lt')}"
    if etype == "string_too_long":
        return f"过长（最多{ctx.get('max_length')}字）"
    if etype == "string_too_short":
        return "不能为空"
    if etype in ("int_parsing", "int_type", "int_from_float", "float_parsing", "float_type"):
        return "须为数字"
    if etype in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return "日期格式无效"
    if etype == "enum":
        return f"取值无效，可选：{ctx.get('expected', '')}"
    return msg


def _column_for(kind: str, loc: tuple[Any, ...]) -> tuple[str, str]:
    path = ".".join(str(p) for p in loc if not isinstance(p, int))
    if not path:
        return _MODEL_LEVEL[kind], ""
    if path in _NESTED_LEVEL:
        return _NESTED_LEVEL[path], path
    cols = COLUMNS[kind]
    exact = [c for c in cols if c.field == path]
    if exact:
        return exact[0].header, path
    under = [c.header for c in cols if c.field.startswith(path + ".")]
    return "、".join(under), path


def validation_errors(kind: str, exc: ValidationError) -> list[RowError]:
    errors: list[RowError] = []
    for err in exc.errors(include_url=False):
        column, path = _column_for(kind, tuple(err.get("loc", ())))
        errors.append(RowError(column, path, reason_of(err)))
    return errors


def parse_row(kind: str, number: int, cells: list[Any], columns: list[Column | None]) -> ParsedRow:
    parsed = ParsedRow(row=number, payload={})
    for col, raw in zip(columns, cells, strict=False):
        if col is None or is_empty(raw):
            continue
        try:
            _set_path(parsed.payload, col.field, convert(col, raw))
        except CellError as exc:
            parsed.errors.append(RowError(col.header, col.field, str(exc)))
    if parsed.errors:
        return parsed
    try:
        parsed.model = KINDS[kind].parse(parsed.payload)
    except ValidationError as exc:
        parsed.errors = validation_errors(kind, exc)
    return parsed


def example_payload(kind: str) -> dict[str, Any]:
    """The payload of the template's example row, which must not be imported as a real person."""
    cols = list(COLUMNS[kind])
    return parse_row(kind, 2, [c.example for c in cols], list(cols)).payload


EXAMPLE_ROW = "这是模板里的示例行，请删除或改成真实数据"


def parse_sheet(kind: str, sheet: Sheet) -> ParsedSheet:
    columns, ignored = map_headers(kind, sheet.headers)
    rows = [parse_row(kind, number, cells, columns) for number, cells in sheet.rows]
    example = example_payload(kind)
    for row in rows:
        if row.payload == example:
            row.model, row.errors = None, [RowError("", "", EXAMPLE_ROW)]
    reject_repeats(kind, rows)
    return ParsedSheet(kind=kind, columns=columns, ignored=ignored, rows=rows)


def _repeat_keys(kind: str, model: BaseModel) -> list[tuple[str, str, str, str]]:
    """(key, column, field, what) by which two rows are the same entity."""
    if kind == "profile":
        keys = [(identity_key(model), "手机号", "phone", "手机号")]
        if (by_id := id_number_key(model)) is not None:
            keys.append((by_id, "身份证号", "id_number", "身份证号"))
        return keys
    return [
        (identity_key(model), "企业名称、岗位名称、工作地区县代码", "", "岗位（企业、岗位名称和工作地相同）")
    ]


def reject_repeats(kind: str, rows: list[ParsedRow]) -> dict[int, list[RowError]]:
    """A later valid row naming the same seeker (phone or ID number) or posting as an earlier
    valid row is rejected, naming the earlier row: one sheet must not write one person twice.
    Returns the rows so rejected (by row number) with their reasons."""
    first: dict[str, int] = {}
    rejected: dict[int, list[RowError]] = {}
    for row in rows:
        if row.model is None:
            continue
        keys = _repeat_keys(kind, row.model)
        repeats = [
            RowError(col, fld, f"与第{first[k]}行{what}重复") for k, col, fld, what in keys if k in first
        ]
        if repeats:
            row.model, row.errors = None, repeats
            rejected[row.row] = repeats
            continue
        for key, *_ in keys:
            first[key] = row.row
    return rejected


def repeated_rows(kind: str, sheet: Sheet) -> dict[int, list[RowError]]:
    """The rows ``parse_sheet`` rejects as repeats of earlier ones, for a client that uploads a
    sheet in parts (the CLI): each part alone cannot see a repeat of a row in another part."""
    columns, _ = map_headers(kind, sheet.headers)
    rows = [parse_row(kind, number, cells, columns) for number, cells in sheet.rows]
    return reject_repeats(kind, rows)


def identity(model: BaseModel) -> dict[str, Any]:
    """How a row finds the entity it describes: a filter on the document's top-level ``identity``
    (profiles by phone; postings by employer, title and place), which an index answers."""
    return {"identity": identity_key(model)}


async def apply_rows(repo: Repository, parsed: ParsedSheet, guard: RowGuard | None = None) -> dict[str, Any]:
    """Store every valid row (one single-document write each, like the HTTP API) and report on
    every row.

    ``guard`` is the importer's scope: a row outside it is rejected like an invalid one, so an
    official's sheet can neither add seekers to another county nor overwrite one found there.

    Why in batches rather than row by row: one row took two lookups and a write in sequence, so a
    20,000-row survey was 60,000 round trips to the store one after the other. Here the lookups of
    all rows go out together (a few in flight), the new seekers are inserted in one command, and
    the updates of different people run side by side; each row is still its own document written
    with its events. The outcome is the sequential one (``deferred_rows``): rows are independent
    unless two of them found the same stored entity, and those later rows are done one by one
    after the batch, looked up again.
    """
    rows = [row for row in parsed.rows if row.model is not None]
    outcomes: dict[int, dict[str, Any]] = {}
    found = await gather_writes(_find(repo, parsed.kind, row.model) for row in rows if row.model is not None)
    later = deferred_rows([doc["_id"] if doc is not None else None for doc, _ in found])
    creates: list[ParsedRow] = []
    updates: list[tuple[ParsedRow, Doc]] = []
    for i, (row, (existing, clash)) in enumerate(zip(rows, found, strict=True)):
        if i in later:
            continue
        decided = _decide(parsed.kind, row, existing, clash, guard)
        if decided is not None:
            outcomes[row.row] = decided
        elif existing is None:
            creates.append(row)
        else:
            updates.append((row, existing))
    created = await _create(repo, creates)
    updated = await gather_writes(_update(repo, parsed.kind, row, doc) for row, doc in updates)
    outcomes.update(zip((row.row for row in creates), created, strict=True))
    outcomes.update(zip((row.row for row, _ in updates), updated, strict=True))
    for i in sorted(later):
        outcomes[rows[i].row] = await _store_row(repo, parsed.kind, rows[i], guard)
    report_rows: list[dict[str, Any]] = []
    counts = {"created": 0, "updated": 0, "rejected": 0}
    for row in parsed.rows:
        entry: dict[str, Any] = {"row": row.row}
        if row.model is None:
            entry.update(status="rejected", errors=[e.as_dict() for e in row.errors])
        else:
            entry.update(outcomes[row.row])
        counts[entry["status"]] += 1
        report_rows.append(entry)
    return {"total": len(parsed.rows), **counts, "ignored_columns": parsed.ignored, "rows": report_rows}


def deferred_rows(found_ids: list[str | None]) -> set[int]:
    """The positions whose stored entity an earlier position found too (None: found nothing).

    Why: only a write to an entity another row also found can change what that row would have
    found had the rows run one by one (within one sheet no two valid rows share a phone or an ID
    number, so a new or changed seeker takes keys no other row looks up). Those later rows wait
    for the batch and are looked up afresh, in order; every other row is independent of the rest.
    """
    seen: set[str] = set()
    later: set[int] = set()
    for i, doc_id in enumerate(found_ids):
        if doc_id is None:
            continue
        if doc_id in seen:
            later.add(i)
        seen.add(doc_id)
    return later


def _refused(reason: str) -> dict[str, Any]:
    return {"status": "rejected", "errors": [{"column": "", "field": "", "reason": reason}]}


async def _find(repo: Repository, kind: str, model: BaseModel) -> tuple[Doc | None, str | None]:
    """The stored entity this row describes, or the reason the row must not touch any (module
    docstring: a seeker by ID number, else by phone, never merging two different people)."""
    by_phone = await repo.find_live(identity(model))
    by_id_key = id_number_key(model) if kind == "profile" else None
    if by_id_key is None:
        return by_phone, None  # a row without an ID number contradicts no stored one
    by_id = await repo.find_live({"identity_id": by_id_key})
    if by_id is not None and by_phone is not None and by_id["_id"] != by_phone["_id"]:
        return None, PHONE_AND_ID_OF_TWO
    if by_id is None and by_phone is not None and by_phone["data"].get("id_number"):
        return None, SAME_PHONE_OTHER_ID
    return by_id or by_phone, None


SAME_PHONE_OTHER_ID = "该手机号已登记在另一身份证号名下（号码转让或家人共用手机？），请核对后单独登记"
PHONE_AND_ID_OF_TWO = "手机号与身份证号分别属于两位已登记的求职者，请核对"


def _decide(
    kind: str, row: ParsedRow, existing: Doc | None, clash: str | None, guard: RowGuard | None
) -> dict[str, Any] | None:
    """The row's outcome when it is decided before any write (refused), else None."""
    assert row.model is not None
    # Before anything else: a record outside the scope must not even be named in the report.
    if guard is not None and (reason := guard(row.model, existing)):
        return _refused(reason)
    if clash is not None:
        return _refused(clash)
    return None


BUSY = "该记录正在被同时修改或已被删除，请稍后重新导入此行"


async def _create(repo: Repository, rows: list[ParsedRow]) -> list[dict[str, Any]]:
    models = [row.model for row in rows if row.model is not None]
    created = await repo.create_many(models)
    # A refused insert is an id collision (practically impossible): that row only is not stored.
    return [
        {"status": "created", "id": doc["id"], "errors": []} if doc is not None else _refused(BUSY)
        for doc in created
    ]


async def _update(repo: Repository, kind: str, row: ParsedRow, existing: Doc) -> dict[str, Any]:
    try:
        model = KINDS[kind].parse(deep_merge(existing["data"], row.payload))
    except ValidationError as exc:
        return {
            "status": "rejected",
            "id": existing["_id"],
            "errors": [e.as_dict() for e in validation_errors(kind, exc)],
        }
    try:
        updated = await repo.replace(existing["_id"], model)
    except (NotFound, Conflict):
        return _refused(BUSY)
    return {"status": "updated", "id": updated["id"], "errors": []}


async def _store_row(repo: Repository, kind: str, row: ParsedRow, guard: RowGuard | None) -> dict[str, Any]:
    """One row on its own: looked up, decided and written (a row ``deferred_rows`` held back)."""
    assert row.model is not None
    existing, clash = await _find(repo, kind, row.model)
    decided = _decide(kind, row, existing, clash, guard)
    if decided is not None:
        return decided
    if existing is None:
        return (await _create(repo, [row]))[0]
    return await _update(repo, kind, row, existing)
