"""``python -m chaos``: every fault of issue 8 in its own run on the local-process stack.

Prints the table (fault, sent, accepted, delivered, lost, duplicated, recovery seconds) and
writes the same rows, with a few more columns, to ``chaos-results.json``. Exits 1 if any row
lost or doubled anything, accepted nothing, or took longer than 30 s to be ready again.

    python -m chaos [--faults "kill -9 match,kill -9 kafka"] [--rate 5] [--duration-s 30]
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from chaos.scenarios import SCENARIOS, Options, passed, run
from chaos.stack import ChaosStack

COLUMNS = ("fault", "sent", "accepted", "delivered", "lost", "duplicated", "recovery_s")


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table (it goes into the README as printed)."""
    cells = [[_text(r.get(c)) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(COLUMNS)]

    def line(xs: list[str]) -> str:
        pairs = enumerate(zip(xs, widths, strict=True))
        padded = [x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in pairs]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * w if i == 0 else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(list(COLUMNS)), line(rule), *(line(x) for x in cells)])


def _text(value: Any) -> str:
    return "—" if value is None else str(value)


NEEDS = {
    "kill -9 kafka": "kafka",
    "kill -9 ferretdb": "ferretdb",
    "kill -9 postgresql": "postgres",
    "start while db down": "ferretdb",
}


def main(argv: list[str] | None = None) -> int:
    default = [name for name in SCENARIOS if name != "none"]
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--faults", default=",".join(default), help=f"comma-separated, of: {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--rate", type=float, default=Options.rate, help="requests per second")
    parser.add_argument("--duration-s", type=float, default=Options.duration_s)
    parser.add_argument("--fault-at-s", type=float, default=Options.fault_at_s)
    parser.add_argument("--down-s", type=float, default=Options.down_s)
    parser.add_argument("--drain-s", type=float, default=Options.drain_s)
    parser.add_argument("--out", type=Path, default=Path("chaos-results.json"))
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.faults.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {list(SCENARIOS)}")
    options = Options(args.rate, args.duration_s, args.fault_at_s, args.down_s, args.drain_s)
    # SIGTERM (a timeout, a Ctrl-C from make) unwinds like an exception, so ``finally`` stops the
    # services and the infrastructure this run started instead of leaving them behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    key = "cf_chaos_" + secrets.token_urlsafe(24)
    stack = ChaosStack(key)
    rows: list[dict[str, Any]] = []
    t0 = time.monotonic()
    try:
        stack.up()
        for i, name in enumerate(names):
            scenario = SCENARIOS[name]
            infra = NEEDS.get(name)
            if infra and not stack.owns(infra):
                print(f"chaos: {name}: skipped, {infra} was started by someone else", file=sys.stderr)
                rows.append({"fault": name, "skipped": f"{infra} not started by this run"})
                continue
            print(f"chaos: {name} ...", file=sys.stderr, flush=True)
            t = time.monotonic()
            try:
                row = run(stack, scenario, i, options, {"Authorization": f"Bearer {key}"})
            except Exception as exc:
                traceback.print_exc()
                row = {"fault": name, "error": repr(exc)[:500]}
            row["run_s"] = round(time.monotonic() - t, 1)
            rows.append(row)
            print(f"chaos: {json.dumps(row, ensure_ascii=False)}", file=sys.stderr, flush=True)
    finally:
        stack.down()
    args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    print(table(rows))
    print(f"\n{len(rows)} faults in {time.monotonic() - t0:.0f}s; rows in {args.out}")
    failed = [r["fault"] for r in rows if not passed(r)]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
