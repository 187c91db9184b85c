"""The real stack for the pipeline benchmarks: started here, on fresh data, and stopped after.

Why start it here: ``make bench`` must measure the code of this checkout on an empty database,
not whatever stack happens to run, and must not hold the machine for longer than it measures.
``scripts/devstack.py``'s ``DevStack`` takes the machine-wide lock on the stack's ports
(``/tmp/chunfeng-devstack.lock``, shared with every other stack run on the machine) before it
starts anything and releases it when stopped. The data (Kafka's log, PostgreSQL's cluster) go
to a scratch directory that is deleted afterwards, so runs do not pile up documents.

One infrastructure for all of a run's stack benchmarks (``infra``): starting and stopping
Kafka, PostgreSQL and FerretDB costs about 40 s, which ``make bench`` would otherwise pay for
each of them. What keeps them apart is what the services read and write, not the processes:
every ``running_stack`` starts its own services on a topic prefix and databases of its own
(``fresh_names``), so no benchmark sees another's events, documents or consumer offsets, and
stops them afterwards. Outside ``infra`` (``python -m bench pipeline`` alone) a benchmark
starts the infrastructure for itself as before.

Extra environment for the services (``env``) is how a benchmark tunes them (e.g. a higher rate
limit); ``CHUNFENG_DEMO`` is not loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ("ingest", "match", "notify", "campaign")
SCHEMA_VERSION = 1  # shared.events' topic version (not imported: it reads the prefix at import)

_shared: Any = None  # the DevStack of the enclosing ``infra()``, if any
lock_wait: dict[str, float] = {"seconds": 0.0}  # how long the last ``infra()`` waited for the lock


@dataclass(frozen=True, slots=True)
class StackInfo:
    admin_key: str
    kafka: str
    ingest: str
    match: str
    notify: str
    devstack: Any  # scripts/devstack.py's DevStack (imported lazily: scripts/ is not a package)
    topic_prefix: str = ""
    campaign: str = ""

    def topic(self, base: str) -> str:
        """The name this stack's services use for a topic (``shared.events.topic_name``)."""
        return topic(self.topic_prefix, base)


def topic(prefix: str, base: str) -> str:
    return f"{prefix}chunfeng.{base}.v{SCHEMA_VERSION}"


def _devstack_class() -> Any:
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    from devstack import DevStack

    return DevStack


def _wait_for_leftovers(timeout_s: float = 90.0) -> None:
    """Wait, with the lock held, until nothing listens on the stack's ports any more.

    Why: ``ensure_infra`` reuses a Kafka or FerretDB that already answers, which suits a developer's
    stack but not a benchmark that must start on empty data. Every stack run holds the lock while
    its infrastructure is up, so one that answers now is a previous holder's, still stopping (or
    orphaned by a run that was killed): a run of ``make bench`` that reused one had its services
    hang at start-up when it went away. After ``timeout_s`` it is reused, and said so."""
    devstack = sys.modules[_devstack_class().__module__]
    ports = {
        "kafka": devstack.KAFKA_PORT,
        "ferretdb": devstack.MONGO_PORT,
        "postgres": int(os.environ.get("POSTGRES_PORT", "5433")),
    }
    deadline = time.monotonic() + timeout_s
    busy = [n for n, p in ports.items() if devstack.port_open(devstack.HOST, p)]
    if busy:
        print(f"bench: {', '.join(busy)} still listening from an earlier run; waiting", flush=True)
    while busy and time.monotonic() < deadline:
        time.sleep(1.0)
        busy = [n for n, p in ports.items() if devstack.port_open(devstack.HOST, p)]
    if busy:
        print(f"bench: {', '.join(busy)} still up after {timeout_s:.0f} s: reused", flush=True)


@contextlib.contextmanager
def infra() -> Iterator[Any]:
    """Kafka + FerretDB (PostgreSQL) on scratch data, shared by every stack benchmark inside.

    Re-entrant: inside another ``infra()`` it yields the same DevStack and stops nothing."""
    global _shared
    if _shared is not None:
        yield _shared
        return
    scratch = Path(tempfile.mkdtemp(prefix="chunfeng-bench-"))
    scratch.chmod(0o755)  # PostgreSQL runs as its own user and must reach its cluster inside
    stack = _devstack_class()(var_dir=scratch)
    try:
        t0 = time.perf_counter()
        stack._hold_ports()  # what ensure_infra does first; timed apart: another run's time, not ours
        lock_wait["seconds"] = round(time.perf_counter() - t0, 1)
        _wait_for_leftovers()
        stack.ensure_infra()
        _shared = stack
        yield stack
    finally:
        _shared = None
        stack.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


def fresh_names(tag: str) -> tuple[str, dict[str, str]]:
    """A topic prefix and one database per service that no earlier run on this infra used."""
    token = f"{tag}{secrets.token_hex(3)}"
    databases = {f"{s.upper()}_MONGODB_DB": f"chunfeng_{s}_{token}" for s in PIPELINE}
    return f"{token}-", databases


def create_topics(devstack: Any, prefix: str) -> None:
    """``python -m shared.topics`` for ``prefix`` (the broker never auto-creates)."""
    saved = os.environ.get("CHUNFENG_TOPIC_PREFIX")
    os.environ["CHUNFENG_TOPIC_PREFIX"] = prefix
    try:
        devstack.create_topics()
    finally:
        if saved is None:
            os.environ.pop("CHUNFENG_TOPIC_PREFIX", None)
        else:
            os.environ["CHUNFENG_TOPIC_PREFIX"] = saved


def stop_services(devstack: Any, keys: list[str], timeout: float = 30.0) -> None:
    """SIGTERM the services started under ``keys`` all at once, then reap them (SIGKILL after
    ``timeout``): one at a time would add their shutdowns up."""
    procs: list[subprocess.Popen[bytes]] = [p for k in keys if (p := devstack.services.pop(k, None))]
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # each service runs in its own process group
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def running_stack(env: Mapping[str, str] | None = None, *, tag: str = "b") -> Iterator[StackInfo]:
    """The four services + the fake gateway on a fresh topic prefix and fresh databases, on the
    shared infrastructure (``infra``; started here for this stack alone when there is none)."""
    key = "cf_" + secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    keys = [{"id": "bench-admin", "role": "admin", "key_sha256": digest, "scope": []}]
    saved = {k: os.environ.get(k) for k in ("CHUNFENG_API_KEYS", "CHUNFENG_ADMIN_KEY")}
    os.environ["CHUNFENG_API_KEYS"] = json.dumps(keys)
    os.environ["CHUNFENG_ADMIN_KEY"] = key
    prefix, databases = fresh_names(tag)
    started: list[str] = []
    with infra() as stack:
        try:
            create_topics(stack, prefix)
            host = "127.0.0.1"
            gateway = f"http://{host}:8025"
            common = {"CHUNFENG_TOPIC_PREFIX": prefix, **databases}
            stack.start_service("gateway", {"GATEWAY_HOST": host})
            started.append("gateway")
            extra: dict[str, dict[str, str]] = {
                "notify": {
                    "NOTIFY_SMS_GATEWAY_URL": f"{gateway}/send",
                    "NOTIFY_WECHAT_GATEWAY_URL": f"{gateway}/wechat",
                }
            }
            # No pool settings here: each service's store caps its operations in flight
            # (MONGODB_MAX_POOL) and scripts/postgres.sh sizes FerretDB's PostgreSQL pool for them
            # (docs/store.md, "Connections"), as on every other stack.
            for name in PIPELINE:
                stack.start_service(name, {**common, **extra.get(name, {}), **(env or {})})
                started.append(name)
            yield StackInfo(
                admin_key=key,
                kafka=stack.kafka_bootstrap,
                ingest=f"http://{host}:8001",
                match=f"http://{host}:8002",
                notify=f"http://{host}:8003",
                devstack=stack,
                topic_prefix=prefix,
                campaign=f"http://{host}:8004",
            )
        finally:
            stop_services(stack, started)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
