"""The real stack for the pipeline benchmarks: started here, on fresh data, and stopped after.

Why start it here: ``make bench`` must measure the code of this checkout on an empty database,
not whatever stack happens to run, and must not hold the machine for longer than it measures.
``scripts/devstack.py``'s ``DevStack`` takes the machine-wide lock on the stack's ports
(``/tmp/chunfeng-devstack.lock``, shared with every other stack run on the machine) before it
starts anything and releases it when stopped. The data (Kafka's log, PostgreSQL's cluster) go
to a scratch directory that is deleted afterwards, so runs do not pile up documents.

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
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ("ingest", "match", "notify", "campaign")


@dataclass(frozen=True, slots=True)
class StackInfo:
    admin_key: str
    kafka: str
    ingest: str
    match: str
    notify: str
    devstack: Any  # scripts/devstack.py's DevStack (imported lazily: scripts/ is not a package)


def _devstack_class() -> Any:
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    from devstack import DevStack

    return DevStack


@contextlib.contextmanager
def running_stack(env: Mapping[str, str] | None = None, *, keep: bool = False) -> Iterator[StackInfo]:
    """Kafka + FerretDB (PostgreSQL) + the four services + the fake gateway, on scratch data."""
    key = "cf_" + secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    keys = [{"id": "bench-admin", "role": "admin", "key_sha256": digest, "scope": []}]
    scratch = Path(tempfile.mkdtemp(prefix="chunfeng-bench-"))
    scratch.chmod(0o755)  # PostgreSQL runs as its own user and must reach its cluster inside
    saved = {k: os.environ.get(k) for k in ("CHUNFENG_API_KEYS", "CHUNFENG_ADMIN_KEY", "POSTGRES_DATA_DIR")}
    os.environ["CHUNFENG_API_KEYS"] = json.dumps(keys)
    os.environ["CHUNFENG_ADMIN_KEY"] = key
    stack = _devstack_class()(var_dir=scratch)
    try:
        stack.ensure_infra()
        stack.create_topics()
        host = "127.0.0.1"
        gateway = f"http://{host}:8025"
        stack.start_service("gateway", {"GATEWAY_HOST": host})
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
            stack.start_service(name, {**extra.get(name, {}), **(env or {})})
        yield StackInfo(
            admin_key=key,
            kafka=stack.kafka_bootstrap,
            ingest=f"http://{host}:8001",
            match=f"http://{host}:8002",
            notify=f"http://{host}:8003",
            devstack=stack,
        )
    finally:
        stack.stop_all()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
