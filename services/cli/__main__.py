"""``python -m services.cli``: an official's bulk work from a terminal, over the HTTP APIs.

    python -m services.cli import profiles 走访登记表.xlsx
    python -m services.cli import postings postings.csv --chunk-rows 200
    python -m services.cli circular --date 2026-03-01 --format xlsx -o 通报.xlsx
    python -m services.cli circular --county 422801 --format png -o funnel.png

The key is ``--key`` or ``CHUNFENG_API_KEY`` (an official's, an employer's for postings, or an
admin's); the services are ``--ingest``/``CHUNFENG_INGEST_URL`` (http://127.0.0.1:8001) and
``--campaign``/``CHUNFENG_CAMPAIGN_URL`` (http://127.0.0.1:8004). It is a client like any other:
the services check the key's scope, validate every row and answer with the reasons.

An import is uploaded in chunks (``--chunk-rows``, 500) so a progress bar can follow it and a
sheet may be longer than one upload allows; the rows keep the numbers they have in the file, so
the summary of rejected rows points at the row the official corrects. Exit status: 0 when every
row was stored, 1 when some were rejected, 2 when the whole file or the call failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from services.cli.chunks import chunks, read
from services.ingest.imports import repeated_rows
from services.ingest.spreadsheet import SpreadsheetError

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Failed(Exception):
    """The call or the file failed as a whole; the message says why."""


def _auth(args: argparse.Namespace) -> dict[str, str]:
    if not args.key:
        raise Failed("需要API密钥：--key 或环境变量 CHUNFENG_API_KEY")
    return {"Authorization": f"Bearer {args.key}"}


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:200]


def import_sheet(args: argparse.Namespace, http: httpx.Client) -> int:
    auth = _auth(args)
    path = Path(args.file)
    try:
        kind = "profile" if args.kind == "profiles" else "posting"
        whole = read(path.read_bytes(), kind)
        # A repeat of a row in another chunk is invisible to that chunk's upload: found here,
        # with ingest's own rule and reason, and not uploaded.
        repeats = repeated_rows(kind, whole)
    except OSError as exc:
        raise Failed(f"无法读取文件 {path}：{exc.strerror}") from exc
    except SpreadsheetError as exc:
        raise Failed(str(exc)) from exc
    sheet = replace(whole, rows=[r for r in whole.rows if r[0] not in repeats])
    url = f"{args.ingest.rstrip('/')}/v1/imports/{args.kind}"
    totals: Counter[str] = Counter(rejected=len(repeats))
    rejected: list[dict[str, Any]] = [
        {"row": n, "status": "rejected", "errors": [e.as_dict() for e in errors]}
        for n, errors in repeats.items()
    ]
    with tqdm(total=len(whole.rows), unit="行", desc=f"导入{path.name}", disable=args.quiet) as bar:
        bar.update(len(repeats))
        for chunk in chunks(sheet, args.chunk_rows):
            files = {"file": (f"{path.stem}-{chunk.first_row}.xlsx", chunk.xlsx, XLSX_TYPE)}
            r = http.post(url, files=files, headers=auth)
            if r.status_code != 200:
                bar.close()
                raise Failed(
                    f"第{chunk.first_row}–{chunk.last_row}行上传失败（HTTP {r.status_code}）：{_detail(r)}"
                )
            report = r.json()
            totals.update({k: int(report.get(k, 0)) for k in ("created", "updated", "rejected")})
            rejected += [row for row in report.get("rows", []) if row.get("status") == "rejected"]
            bar.update(chunk.rows)
            bar.set_postfix(新增=totals["created"], 更新=totals["updated"], 退回=totals["rejected"])
    out = sys.stdout
    print(
        f"共{len(whole.rows)}行：新增{totals['created']}，更新{totals['updated']}，退回{totals['rejected']}",
        file=out,
    )
    for row in sorted(rejected, key=lambda r: int(r["row"])):
        reasons = "；".join(
            f"{e.get('column') or e.get('field') or ''}{'：' if e.get('column') or e.get('field') else ''}"
            f"{e.get('reason', '')}"
            for e in row.get("errors", [])
        )
        print(f"  第{row['row']}行：{reasons}", file=out)
    return 1 if rejected else 0


def circular(args: argparse.Namespace, http: httpx.Client) -> int:
    base = f"{args.campaign.rstrip('/')}/v1/circulars/daily"
    params: dict[str, str] = {}
    if args.date:
        params["date"] = args.date
    if args.county:
        params["county"] = args.county
    if args.format == "png":
        url = base + ".png"
    else:
        url = base
        params["format"] = args.format
    r = http.get(url, params=params, headers=_auth(args))
    if r.status_code != 200:
        raise Failed(f"通报获取失败（HTTP {r.status_code}）：{_detail(r)}")
    content = r.content
    if args.format == "json":
        content = (json.dumps(r.json(), ensure_ascii=False, indent=2) + "\n").encode()
    if args.output in (None, "-"):
        if args.format in ("xlsx", "png") and sys.stdout.isatty():
            raise Failed(f"{args.format} 是二进制文件：请用 -o 指定输出文件")
        sys.stdout.buffer.write(content)
    else:
        Path(args.output).write_bytes(content)
        print(f"已保存 {args.output}（{len(content)} 字节）", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.cli", description="春风：工作人员批量操作")
    p.add_argument("--key", default=os.environ.get("CHUNFENG_API_KEY"), help="API key (CHUNFENG_API_KEY)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per HTTP call")
    sub = p.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="import profiles or postings from a CSV/XLSX sheet")
    imp.add_argument("kind", choices=["profiles", "postings"])
    imp.add_argument("file")
    imp.add_argument(
        "--ingest",
        default=os.environ.get("CHUNFENG_INGEST_URL", "http://127.0.0.1:8001"),
        help="ingest's URL",
    )
    imp.add_argument("--chunk-rows", type=int, default=500, help="rows per upload (progress granularity)")
    imp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(run=import_sheet)

    circ = sub.add_parser("circular", help="download the daily circular (每日通报)")
    circ.add_argument("--date", help="local day, YYYY-MM-DD (default today)")
    circ.add_argument("--county", help="adcode prefix, e.g. 422801")
    circ.add_argument("--format", choices=["json", "csv", "xlsx", "png"], default="json")
    circ.add_argument("-o", "--output", help="file to write (default: standard output)")
    circ.add_argument(
        "--campaign",
        default=os.environ.get("CHUNFENG_CAMPAIGN_URL", "http://127.0.0.1:8004"),
        help="campaign's URL",
    )
    circ.set_defaults(run=circular)
    return p


def main(argv: list[str] | None = None, http: httpx.Client | None = None) -> int:
    """``http``: the client to call through (tests: the services in-process); default a new one."""
    args = parser().parse_args(argv)
    if getattr(args, "chunk_rows", 1) < 1:
        parser().error("--chunk-rows must be at least 1")
    try:
        if http is not None:
            code: int = args.run(args, http)
        else:
            with httpx.Client(timeout=args.timeout) as client:
                code = args.run(args, client)
        return code
    except Failed as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"错误：无法连接服务：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
