"""``make bench`` (``python -m bench [name ...] [options]``): run the benchmarks, write one result file.

Every benchmark is a module of this package listed in ``BENCHMARKS`` with ``NAME``,
``add_arguments(parser)`` and ``run(args) -> bench.results.Report``; a new one is added there
and nowhere else: ``matcher`` (the match index, in process), ``memory`` (match's resident
memory at 1M seekers), ``pipeline``, ``import`` and ``scaleout`` (the real stack, which each
starts and stops itself under the machine-wide stack lock; ``scaleout`` runs one match instance
against two). Without names every listed benchmark runs; ``python -m bench matcher`` runs one.
The rows of the benchmarks that ran, in that order, become ``bench-results.json``; the machine
and each run's facts go beside it in ``bench-machine.json``; each benchmark replaces its own
section of ``docs/quality.md``, and the README's "Targets at a glance" table is rewritten from
the rows (``bench.readme``). ``--no-write`` only prints.

The stack benchmarks (``ON_STACK``) share one Kafka + FerretDB (``bench.stack.infra``), started
before the first of them and stopped after the last; each still starts its own services on a
topic prefix and databases of its own. The in-process ones run first, so that the machine-wide
stack lock is held only while the stack is needed. A run of every benchmark adds the row
``make_bench_seconds`` (issue 7: a fresh clone's ``make bench`` under 20 minutes): the wall time
less any wait for the machine-wide stack lock (another run's time, given beside it).

Single-threaded on purpose: BLAS/OpenMP pools are pinned to one thread here, before anything
imports numpy, so that the numbers are per core whichever benchmark runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

from bench import import_bench, matcher, memory, pipeline_bench, readme, scaleout, stack  # noqa: E402
from bench.results import Report, Row, machine, metric, table  # noqa: E402
from evaluation.report import replace_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS: dict[str, ModuleType] = {
    m.NAME: m for m in (matcher, memory, pipeline_bench, import_bench, scaleout)
}
ON_STACK = frozenset({pipeline_bench.NAME, import_bench.NAME, scaleout.NAME})
TARGET_TOTAL_SECONDS = 1200.0  # issue 7: make bench from a fresh clone in under 20 minutes


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


def ordered(names: list[str]) -> list[str]:
    """The chosen benchmarks (all by default) in ``BENCHMARKS``' order: in-process first, then the
    stack ones one after the other, so that the shared infrastructure is up only while needed."""
    chosen = set(names or BENCHMARKS)
    return [n for n in BENCHMARKS if n in chosen]


def total_row(seconds: float) -> Row:
    return metric(
        "make_bench_seconds", seconds, "s", target=TARGET_TOTAL_SECONDS, met=seconds < TARGET_TOTAL_SECONDS
    )


def write(reports: list[Report], info: dict[str, Any], extra: list[Row]) -> None:
    rows = [row for r in reports for row in r.rows] + extra
    # The results file is the agreed plain list of metric objects; the machine goes beside it.
    for name, content in (("bench-results.json", rows), ("bench-machine.json", info)):
        text = json.dumps(content, ensure_ascii=False, indent=2) + "\n"
        (ROOT / name).write_text(text, encoding="utf-8")
    for r in reports:
        if r.write_extras is not None:
            r.write_extras(ROOT)
        replace_section(ROOT / "docs" / "quality.md", r.section, r.note + "\n\n" + table(r.rows))
    readme.replace_between(ROOT / "README.md", readme.targets(rows, info))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    names = ordered(args.names)
    started = time.perf_counter()
    reports: list[Report] = []
    info: dict[str, Any] = machine() | {"benchmarks": names}
    parts: dict[str, float] = {}
    last_on_stack = max((i for i, n in enumerate(names) if n in ON_STACK), default=-1)
    infra_up = False
    with contextlib.ExitStack() as on_stack:
        for i, name in enumerate(names):
            t0 = time.perf_counter()
            if name in ON_STACK and not infra_up:
                on_stack.enter_context(stack.infra())
                infra_up = True
                parts["stack_lock_wait"] = stack.lock_wait["seconds"]
                parts["stack_start"] = round(time.perf_counter() - t0 - parts["stack_lock_wait"], 1)
                t0 = time.perf_counter()
            report = BENCHMARKS[name].run(args)
            reports.append(report)
            info |= report.info
            parts[name] = round(time.perf_counter() - t0, 1)
            print(f"bench: {name} took {parts[name]} s", flush=True)
            if i == last_on_stack:
                t0 = time.perf_counter()
                on_stack.close()
                parts["stack_stop"] = round(time.perf_counter() - t0, 1)
    waited = parts.get("stack_lock_wait", 0.0)
    # The run's own time: waiting for another run's stack to finish is that run's, not this one's.
    info["seconds"] = round(time.perf_counter() - started - waited, 1)
    info["seconds_waiting_for_stack_lock"] = waited
    info["seconds_per_part"] = parts
    info["load_1min_end"] = round(os.getloadavg()[0], 2)
    extra = [total_row(info["seconds"])] if not args.names else []
    print(f"machine: {info}")
    for r in reports:
        print(table(r.rows))
    if extra:
        print(table(extra))
    if not args.no_write:
        write(reports, info, extra)


if __name__ == "__main__":
    main()
