"""Integration fixtures: the real stack, started once per session, driven only over HTTP and Kafka.

Kafka (Apache Kafka 4.x, KRaft) and FerretDB are started — or reused if already running — by
``scripts/devstack.py``; the three services run as separate processes wired through them. The
session gets its own topic prefix and databases, so a reused stack's old data cannot leak into
the assertions. The services get one admin key for the session (only its hash, through
``CHUNFENG_API_KEYS``, as in production); every client here sends it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from devstack import DevStack  # noqa: E402

from shared.auth import Role, spec_json  # noqa: E402

INGEST = "http://127.0.0.1:8001"
MATCH = "http://127.0.0.1:8002"
NOTIFY = "http://127.0.0.1:8003"
KAFKA = "127.0.0.1:9092"
SERVICES = ("ingest", "match", "notify")
ADMIN_KEY = "cf_it_" + secrets.token_urlsafe(24)
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


class Stack:
    def __init__(self, devstack: DevStack, env: dict[str, str]) -> None:
        self.devstack = devstack
        self.env = env
        self.prefix = env["CHUNFENG_TOPIC_PREFIX"]

    def topic(self, name: str) -> str:
        return f"{self.prefix}chunfeng.{name}.v1"

    def start(self, name: str) -> None:
        self.devstack.start_service(name, self.env)

    def kill(self, name: str, sig: int) -> None:
        self.devstack.kill_service(name, sig)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    suffix = uuid.uuid4().hex[:8]
    env = {
        "CHUNFENG_TOPIC_PREFIX": f"it{suffix}.",
        "INGEST_MONGODB_DB": f"it_{suffix}_ingest",
        "MATCH_MONGODB_DB": f"it_{suffix}_match",
        "NOTIFY_MONGODB_DB": f"it_{suffix}_notify",
        "NOTIFY_DAILY_CAP": "1000",
        "NOTIFY_FILE_SINK_PATH": str(ROOT / "var" / "test" / f"messages-{suffix}.jsonl"),
        "LOG_LEVEL": "INFO",
        "CHUNFENG_API_KEYS": spec_json([("integration-admin", Role.admin, ADMIN_KEY, [])]),
    }
    ds = DevStack()
    ds.ensure_infra()
    subprocess.run(
        [sys.executable, "-m", "shared.topics"],
        cwd=ROOT,
        env={**os.environ, **env, "KAFKA_BOOTSTRAP_SERVERS": KAFKA, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=120,
    )
    s = Stack(ds, env)
    try:
        for name in SERVICES:
            s.start(name)
        yield s
    finally:
        ds.stop_all()


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, headers=AUTH) as client:
        yield client


def wait_for(predicate: Any, timeout: float, interval: float = 0.2) -> Any:
    """Poll until ``predicate()`` is truthy; return its value, or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
