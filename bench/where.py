"""Where a pipeline run's time goes, beyond the stages: CPU per process and store commands.

Why: the stage timings (``chunfeng_stage_seconds``) say how long each service waited on each
step, but not what was busy. On this 2-core machine the answer decides the next step, so a run
also takes, before and after its load:

- every stack process's CPU time (``/proc/<pid>/stat``: user + system; Kafka's JVM, FerretDB,
  PostgreSQL's backends, each service, the load generator itself), as milliseconds per profile;
- each service's store commands and the documents they carried (``chunfeng_store_commands_total``
  and ``chunfeng_store_documents_written_total`` on its ``/metrics``), per profile, by collection;
- from the two, FerretDB's CPU per command: with the commands per profile, the ceiling FerretDB
  alone puts on the rate (its CPU per profile against the cores).

Processes that end during the run (a PostgreSQL backend closed by FerretDB's pool) take their CPU
with them; FerretDB keeps its pooled backends open, so that is rare.
"""

from __future__ import annotations

import os
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def process_kind(cmdline: str) -> str | None:
    """The stack part a process belongs to, by its command line (None: not the stack's)."""
    if cmdline.startswith("postgres") or "/postgres " in cmdline or cmdline.endswith("/postgres"):
        return "postgres"  # before FerretDB: its backends are "postgres: ferretdb ferretdb …"
    if "ferretdb" in cmdline:
        return "ferretdb"
    if "kafka.Kafka" in cmdline or ("java" in cmdline and "kafka" in cmdline):
        return "kafka"
    if "-m services." in cmdline:
        return cmdline.split("-m services.", 1)[1].split()[0]
    if "-m bench" in cmdline:
        return "load generator"
    return None


Counts = dict[tuple[str, str, str], float]


def cpu_seconds(marker: str | None = None, proc: Path = Path("/proc")) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each kind of stack process.

    ``marker`` (the stack's scratch directory) keeps the count to this stack: Kafka, FerretDB
    and PostgreSQL name it on their command lines, PostgreSQL's backends are its children, and
    the services are this process's children. Without it, any process of those kinds counts
    (a compose stack left running would then be counted too).
    """
    seen: dict[int, tuple[str, int, float]] = {}  # pid -> (command line, parent, CPU seconds)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        seen[int(entry.name)] = (cmdline, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)

    def ours(pid: int) -> bool:
        if marker is None:
            return True
        cmdline, parent, _ = seen[pid]
        return marker in cmdline or parent == os.getpid() or marker in seen.get(parent, ("", 0, 0.0))[0]

    used: dict[str, float] = defaultdict(float)
    for pid, (cmdline, _, seconds) in seen.items():
        kind = process_kind(cmdline)
        if kind is not None and ((kind == "load generator" and pid == os.getpid()) or ours(pid)):
            used[kind] += seconds
    return used


def store_counts(text: str) -> Counts:
    """(what, command, collection) -> count from one ``/metrics`` text; what is commands or documents."""
    counts: Counts = defaultdict(float)
    names = {"chunfeng_store_commands": "commands", "chunfeng_store_documents_written": "documents"}
    for family in text_string_to_metric_families(text):
        what = names.get(family.name)
        if what is None:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[(what, sample.labels["command"], sample.labels["collection"])] += sample.value
    return counts


def scrape(urls: dict[str, str]) -> dict[str, Counts]:
    """Each service's store counts now (a service that does not answer counts nothing)."""
    out: dict[str, Counts] = {}
    for name, url in urls.items():
        try:
            with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
                out[name] = store_counts(r.read().decode())
        except OSError:
            out[name] = {}
    return out


class Snapshot:
    """CPU and store counts at one moment; ``since(earlier, profiles)`` gives the run's share."""

    def __init__(self, urls: dict[str, str], marker: str | None = None) -> None:
        self.cpu = cpu_seconds(marker)
        self.store = scrape(urls)

    def since(self, earlier: Snapshot, profiles: int) -> dict[str, Any]:
        n = max(1, profiles)
        cpu = {k: (self.cpu[k] - earlier.cpu.get(k, 0.0)) * 1000 / n for k in self.cpu}
        commands: dict[str, float] = {}
        documents: dict[str, float] = {}
        by_collection: dict[str, float] = defaultdict(float)
        for service, counts in self.store.items():
            before = earlier.store.get(service, {})
            for key, value in counts.items():
                what, command, collection = key
                delta = (value - before.get(key, 0.0)) / n
                if not delta:
                    continue
                if what == "commands":
                    commands[service] = commands.get(service, 0.0) + delta
                    by_collection[f"{service} {command} {collection}"] += delta
                else:
                    documents[service] = documents.get(service, 0.0) + delta
        total_commands = sum(commands.values())
        ferretdb = cpu.get("ferretdb", 0.0)
        return {
            "profiles": profiles,
            "cpu_ms_per_profile": {k: round(v, 2) for k, v in sorted(cpu.items()) if v > 0},
            "store_commands_per_profile": {k: round(v, 2) for k, v in sorted(commands.items())},
            "store_documents_per_profile": {k: round(v, 2) for k, v in sorted(documents.items())},
            "top_commands_per_profile": {
                k: round(v, 2) for k, v in sorted(by_collection.items(), key=lambda kv: -kv[1])[:12]
            },
            "ferretdb_cpu_ms_per_command": round(ferretdb / total_commands, 3) if total_commands else None,
            # every core given to FerretDB alone: the rate its CPU per profile would allow at most
            "ferretdb_ceiling_profiles_per_s": round(CORES * 1000 / ferretdb, 1) if ferretdb else None,
        }
