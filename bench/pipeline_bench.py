"""``python -m bench pipeline`` (part of ``make bench``): the whole pipeline on the real stack.

Starts Kafka, FerretDB on PostgreSQL and the services itself (``bench.stack``: scratch data,
the machine-wide stack lock held only while it runs), then

1. a short closed-loop run (``--pipeline-clients`` clients posting ``--pipeline-profiles``
   profiles after ``--pipeline-postings`` postings), timed from each POST to its seeker's first
   inbox item readable on notify (``bench.pipeline``): it finds the rate the stack keeps up
   with, the base rate of what follows (``--pipeline-rate`` overrides it);
2. the sustained run, issue 7's first row: profiles started at the base rate (open loop)
   for ``--pipeline-sustained-s`` seconds (at least 60, as the issue asks):
   ``pipeline_profiles_per_s``, ``_p50_ms``, ``_p99_ms``, ``pipeline_accepted_per_s`` and
   ``pipeline_lost`` (with ``--pipeline-sustained-s 0`` the closed loop's figures instead);
3. the broker on its own with as many messages of the same size (``raw_kafka``), the
   pipeline's baseline and ``pipeline_ratio_to_raw_kafka``;
4. growth: the sustained run is the 1x point; further open-loop runs at ``--pipeline-loads``
   times the base rate (2x and 4x by default), each for ``--pipeline-seconds``, with each
   service's per-stage time (``chunfeng_stage_seconds`` on ``/metrics``) taken before and
   after every run: ``pipeline_saturation_profiles_per_s`` is the best end-to-end rate
   reached, and ``bench-pipeline.png`` plots offered against delivered load and where the
   time went at each.

The other rows of issue 7 have benchmarks of their own: the match service's memory at 1M
seekers (``bench/memory.py``), the spreadsheet import rate (``bench/import_bench.py``) and the
two-instance scale-out (``bench/scaleout.py``); a row none of them measures would be listed in
``bench-machine.json`` under ``not_measured`` with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench import pipeline as pl
from bench.results import Report, Row, machine, metric
from bench.stack import StackInfo, running_stack
from bench.where import Snapshot

NAME = "pipeline"
SECTION = "Latest pipeline bench"
NOT_MEASURED: dict[str, str] = {}
SERVICES = ("ingest", "match", "notify")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(NAME)
    group.add_argument("--pipeline-profiles", type=int, default=200, help="closed-loop run: profiles posted")
    group.add_argument("--pipeline-clients", type=int, default=16)
    group.add_argument("--pipeline-postings", type=int, default=16)
    group.add_argument(
        "--pipeline-sustained-s",
        type=float,
        default=60.0,
        help="the sustained run at 1x: posting time (0: none, the closed loop's figures are the rows)",
    )
    group.add_argument(
        "--pipeline-loads", default="2,4", help="further offered load multiples after 1x (empty: none)"
    )
    group.add_argument("--pipeline-rate", type=float, help="profiles/s at 1x (default: the closed loop's)")
    group.add_argument("--pipeline-seconds", type=float, default=20.0, help="posting time per further load")
    group.add_argument(
        "--pipeline-sample",
        type=int,
        default=4,
        help="time every n-th profile of the open-loop runs (the rest are checked once after): each "
        "poll of an inbox is load on notify and FerretDB, ~20 polls per profile once latency is seconds",
    )
    group.add_argument(
        "--pipeline-timeout-s",
        type=float,
        default=40.0,
        help="wait after the last POST (twice this after the closed loop); not readable by then: lost",
    )


def _args(stack: StackInfo, **kw: Any) -> argparse.Namespace:
    base: dict[str, Any] = {
        "ingest": stack.ingest,
        "notify": stack.notify,
        "match": stack.match,
        "kafka": stack.kafka,
        "matches_topic": stack.topic("matches"),
        "key": stack.admin_key,
        "clients": 16,
        "postings": 0,
        "poll_interval_s": 0.1,
        "run_id": 0,
        "profiles": None,
        "duration_s": None,
        "rate": None,
        "timeout_s": 60.0,
    }
    return argparse.Namespace(**{**base, **kw})


def stage_seconds(stack: StackInfo) -> dict[tuple[str, str, str], tuple[float, float]]:
    """(service, group, stage) -> (sum of seconds, count) from each service's /metrics."""
    out: dict[tuple[str, str, str], tuple[float, float]] = {}
    for service in SERVICES:
        url = getattr(stack, service) + "/metrics"
        try:  # a service saturated by the run may answer late: its stages are then left out
            with urllib.request.urlopen(url, timeout=60) as response:
                text = response.read().decode()
        except OSError as exc:
            print(f"  warning: {url} did not answer ({exc!r}); its stages are left out of this load")
            continue
        for family in text_string_to_metric_families(text):
            if family.name != "chunfeng_stage_seconds":
                continue
            for sample in family.samples:
                key = (service, sample.labels.get("group", ""), sample.labels.get("stage", ""))
                total, count = out.get(key, (0.0, 0.0))
                if sample.name.endswith("_sum"):
                    total = sample.value
                elif sample.name.endswith("_count"):
                    count = sample.value
                out[key] = (total, count)
    return out


def stage_delta(
    before: dict[tuple[str, str, str], tuple[float, float]],
    after: dict[tuple[str, str, str], tuple[float, float]],
    seconds: float,
) -> dict[str, dict[str, float]]:
    """Per stage: busy seconds per wall second and mean seconds per observation, over a run.

    A service missing from ``before`` (it did not answer) is left out: its totals since start
    are not this run's."""
    out: dict[str, dict[str, float]] = {}
    answered = {key[0] for key in before}
    for key, (total, count) in after.items():
        if key[0] not in answered:
            continue
        t0, c0 = before.get(key, (0.0, 0.0))
        if count > c0:
            name = f"{key[1]}/{key[2]}"
            out[name] = {"busy": (total - t0) / seconds, "mean_ms": (total - t0) / (count - c0) * 1000}
    return out


def plot(series: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    offered = [s["offered_per_s"] for s in series]
    ax1.plot(offered, [s["e2e_per_s"] for s in series], "o-", label="delivered (inbox readable)")
    ax1.plot(offered, [s["accepted_per_s"] for s in series], "s--", label="accepted by ingest")
    ax1.plot(offered, offered, ":", color="grey", label="offered")
    ax1.set_xlabel("offered profiles/s")
    ax1.set_ylabel("profiles/s")
    ax1.legend(fontsize=8)
    ax1b = ax1.twinx()
    ax1b.plot(offered, [s["p50_ms"] / 1000 for s in series], "^-", color="tab:red", label="p50 latency")
    ax1b.set_ylabel("POST → inbox p50 (s)", color="tab:red")
    stages = sorted({k for s in series for k in s["stages"] if not k.endswith(("poll_handled",))})
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        xs = [j + i * width for j in range(len(stages))]
        ax2.bar(xs, [s["stages"].get(k, {}).get("busy", 0.0) for k in stages], width, label=s["label"])
    ax2.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(stages))])
    ax2.set_xticklabels(stages, rotation=60, ha="right", fontsize=7)
    ax2.set_ylabel("busy seconds per second (from /metrics)")
    ax2.legend(fontsize=8)
    fig.suptitle("Chunfeng pipeline on Kafka + FerretDB/PostgreSQL, offered load until saturation")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def open_loop(
    stack: StackInfo, args: argparse.Namespace, label: str, rate: float, seconds: float, run_id: int
) -> dict[str, Any]:
    """One open-loop run at ``rate`` for ``seconds``, with the stages' busy time during it."""
    urls = {name: getattr(stack, name) for name in (*SERVICES, "campaign") if getattr(stack, name, None)}
    marker = str(stack.devstack.var)
    before, started, busy = stage_seconds(stack), time.perf_counter(), Snapshot(urls, marker)
    result = await pl.pipeline(
        _args(
            stack,
            rate=rate,
            duration_s=seconds,
            timeout_s=args.pipeline_timeout_s,
            run_id=run_id,
            sample=args.pipeline_sample,
        )
    )
    elapsed = time.perf_counter() - started
    stages = stage_delta(before, stage_seconds(stack), elapsed)
    spent = Snapshot(urls, marker).since(busy, result["accepted"])
    load = os.getloadavg()[0]
    print(
        f"  {label} ({rate:.1f}/s offered for {seconds:.0f} s): {result['e2e_per_s']:.2f} profiles/s "
        f"delivered, p50 {result['p50_ms']:.0f} ms, lost {result['lost']}, withdrawn before read "
        f"{result['withdrawn']} (load {load:.1f})\n"
        f"    CPU ms per profile {spent['cpu_ms_per_profile']}; store commands per profile "
        f"{spent['store_commands_per_profile']}; FerretDB {spent['ferretdb_cpu_ms_per_command']} ms "
        f"CPU per command"
    )
    return {
        "label": label,
        "offered_per_s": rate,
        "seconds": seconds,
        "accepted_per_s": result["accepted_per_s"],
        "e2e_per_s": result["e2e_per_s"],
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "lost": result["lost"],
        "load_1min": load,
        "stages": stages,
        "where": spent,
        "result": result,
    }


async def measure(stack: StackInfo, args: argparse.Namespace) -> dict[str, Any]:
    closed = await pl.pipeline(
        _args(
            stack,
            profiles=args.pipeline_profiles,
            clients=args.pipeline_clients,
            postings=args.pipeline_postings,
            timeout_s=args.pipeline_timeout_s * 2,
        )
    )
    load = os.getloadavg()[0]
    print(
        f"  closed loop: {closed['e2e_per_s']:.2f} profiles/s, "
        f"p50 {closed['p50_ms']:.0f} ms (load {load:.1f})"
    )
    base = args.pipeline_rate or max(1.0, math.ceil(closed["e2e_per_s"]))
    series: list[dict[str, Any]] = []
    sustained = closed
    where: dict[str, Any] | None = None
    if args.pipeline_sustained_s > 0:
        point = await open_loop(stack, args, "1x", base, args.pipeline_sustained_s, run_id=1)
        series.append(point)
        sustained, where = point["result"], point["where"]
    raw = await pl.raw_kafka(stack.kafka, max(sustained["accepted"], 1000), sustained["message_bytes"])
    print(f"  raw kafka: {raw['msgs_per_s']:.0f} msgs/s")
    loads = [float(x) for x in args.pipeline_loads.split(",") if x.strip()]
    for i, mult in enumerate(loads):
        try:
            point = await open_loop(
                stack, args, f"{mult:g}x", base * mult, args.pipeline_seconds, run_id=i + 2
            )
        except Exception as exc:  # what was measured so far still counts; the failure is printed
            print(f"  warning: the {mult:g}x run failed ({exc!r}); the series stops here")
            break
        series.append(point)
    for point in series:
        point.pop("result", None)
    return {
        "closed": closed,
        "sustained": sustained,
        "base_rate": base,
        "raw": raw,
        "series": series,
        "where": where,
        "load_1min": os.getloadavg()[0],
    }


def run(args: argparse.Namespace) -> Report:
    started = time.perf_counter()
    # The load comes with an admin key, which the services' rate limits do not count by default.
    with running_stack() as stack:
        out = asyncio.run(measure(stack, args))
    closed, sustained, raw, series = out["closed"], out["sustained"], out["raw"], out["series"]
    rows: list[Row] = pl.result_rows(sustained, raw)
    where = out["where"]
    if where is not None:  # the sustained run's: what bounds the rate
        rows += [
            metric(
                "pipeline_store_commands_per_profile",
                sum(where["store_commands_per_profile"].values()),
                "commands",
            ),
            metric(
                "pipeline_ferretdb_cpu_ms_per_profile", where["cpu_ms_per_profile"].get("ferretdb", 0.0), "ms"
            ),
            metric("pipeline_ferretdb_cpu_ms_per_command", where["ferretdb_cpu_ms_per_command"] or 0.0, "ms"),
            metric("pipeline_cpu_ms_per_profile", sum(where["cpu_ms_per_profile"].values()), "ms"),
        ]
    if series:
        best = max(series, key=lambda s: s["e2e_per_s"])
        rows.append(
            metric(
                "pipeline_saturation_profiles_per_s",
                best["e2e_per_s"],
                "profiles/s",
                round(raw["msgs_per_s"], 1),
                pl.TARGET["pipeline_profiles_per_s"],
                best["e2e_per_s"] >= pl.TARGET["pipeline_profiles_per_s"],
            )
        )
    host = machine()
    seconds = round(time.perf_counter() - started, 1)
    loads = ", ".join(
        f"{s['label']} = {s['offered_per_s']:.1f}/s offered → {s['e2e_per_s']:.2f}/s delivered, "
        f"p50 {s['p50_ms'] / 1000:.1f} s (load {s['load_1min']:.1f})"
        for s in series
    )
    note = (
        f"{host['cpu']}, {host['cores']} cores shared with other work (1-min load average at the end: "
        f"{out['load_1min']:.1f}), Python {host['python']}; Kafka 4.1.1 and FerretDB 1.24 on PostgreSQL "
        f"(GIN companions) as local processes, the four services one process each (`bench.stack`). "
        f"After {args.pipeline_postings} postings, a closed loop ({args.pipeline_clients} clients post "
        f"{args.pipeline_profiles} profiles: {closed['e2e_per_s']:.2f}/s delivered, p50 "
        f"{closed['p50_ms'] / 1000:.1f} s, p99 {closed['p99_ms'] / 1000:.1f} s) sets the base rate, "
        f"{out['base_rate']:.0f}/s; "
        + (
            f"the pipeline rows are the sustained run: that rate offered for "
            f"{args.pipeline_sustained_s:.0f} s ({sustained['accepted']} profiles accepted), "
            if args.pipeline_sustained_s > 0
            else "the pipeline rows are the closed loop's (no sustained run), "
        )
        + f"latency from each POST to the seeker's first inbox item readable on notify, for every "
        f"{args.pipeline_sample}th profile of the open-loop runs (the others looked up once after the "
        f"run, so the rate and the losses count every profile). Baseline: the "
        f"same broker alone with {max(sustained['accepted'], 1000)} messages of the event's size "
        f"(acks=all). Open loop: {loads}; the plot is `docs/bench-pipeline.png`. "
        + (f"Not measured yet: {', '.join(NOT_MEASURED)}. " if NOT_MEASURED else "")
        + f"Total {seconds} s (`python -m bench pipeline`)."
    )
    info = {
        "pipeline": {
            "closed": closed,
            "sustained": sustained,
            "base_rate": out["base_rate"],
            "raw_kafka": raw,
            "saturation": series,
            "seconds": seconds,
        },
        "not_measured": NOT_MEASURED,
    }
    return Report(
        rows=rows,
        section=SECTION,
        note=note,
        info=info,
        write_extras=(lambda root: plot(series, root / "docs" / "bench-pipeline.png")) if series else None,
    )
