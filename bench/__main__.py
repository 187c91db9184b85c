"""``make bench`` (``python -m bench [name ...] [options]``): run the benchmarks, write one result file.

Every benchmark is a module of this package listed in ``BENCHMARKS`` with ``NAME``,
``add_arguments(parser)`` and ``run(args) -> bench.results.Report``; a new one is added there
and nowhere else: ``matcher`` (the match index, in process), ``memory`` (match's resident
memory at 1M seekers), ``pipeline``, ``import`` and ``scaleout`` (the real stack, which each
starts and stops itself under the machine-wide stack lock; ``scaleout`` runs one match instance
against two). Without names every listed benchmark runs; ``python -m bench matcher`` runs one.
The rows of the benchmarks that ran, in that order, become ``bench-results.json``; the machine
and each run's facts go beside it in ``bench-machine.json``; each benchmark replaces its own
section of ``docs/quality.md``. ``--no-write`` only prints.

Single-threaded on purpose: BLAS/OpenMP pools are pinned to one thread here, before anything
imports numpy, so that the numbers are per core whichever benchmark runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

from bench import import_bench, matcher, memory, pipeline_bench, scaleout  # noqa: E402
from bench.results import Report, machine, table  # noqa: E402
from evaluation.report import replace_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS: dict[str, ModuleType] = {
    m.NAME: m for m in (matcher, pipeline_bench, memory, import_bench, scaleout)
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    known = ", ".join(BENCHMARKS)
    parser.add_argument("names", nargs="*", metavar="name", help=f"any of: {known} (default: all)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--no-write", action="store_true", help="print only")
    for module in BENCHMARKS.values():
        module.add_arguments(parser)
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {known}")
    return args


def write(reports: list[Report], info: dict[str, Any]) -> None:
    rows = [row for r in reports for row in r.rows]
    # The results file is the agreed plain list of metric objects; the machine goes beside it.
    for name, content in (("bench-results.json", rows), ("bench-machine.json", info)):
        text = json.dumps(content, ensure_ascii=False, indent=2) + "\n"
        (ROOT / name).write_text(text, encoding="utf-8")
    for r in reports:
        if r.write_extras is not None:
            r.write_extras(ROOT)
        replace_section(ROOT / "docs" / "quality.md", r.section, r.note + "\n\n" + table(r.rows))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    names: list[str] = args.names or list(BENCHMARKS)
    started = time.perf_counter()
    reports: list[Report] = []
    info: dict[str, Any] = machine()
    for name in names:
        report = BENCHMARKS[name].run(args)
        reports.append(report)
        info |= report.info
    info["seconds"] = round(time.perf_counter() - started, 1)
    print(f"machine: {info}")
    for r in reports:
        print(table(r.rows))
    if not args.no_write:
        write(reports, info)


if __name__ == "__main__":
    main()
