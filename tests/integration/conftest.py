"""Integration fixtures: the real stack, started once per session, driven only over HTTP and Kafka.

By default the stack runs in containers: ``scripts/composestack.py`` installs and starts a Docker
engine if none answers, builds the images (cached: seconds after the first time) and brings up
Kafka, FerretDB, the three services and the fake SMS gateway with Docker Compose, all published
on 127.0.0.1. If no engine can be started, the session says so loudly (on the terminal and in
the summary) and falls back to the local-process stack of ``scripts/devstack.py`` — the same
tests, against the same ports. ``CHUNFENG_IT_STACK=local`` chooses that stack directly.

The session gets its own topic prefix and databases (passed to the containers through compose's
variable interpolation, see docker-compose.yml), so a reused broker's old data cannot leak into
the assertions. Host ports follow ``CHUNFENG_<NAME>_HOST_PORT`` (compose only). The services
get one admin key for the session (only its hash, through ``CHUNFENG_API_KEYS``, as in
production); every client here sends it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from composestack import HOST_PORTS, ComposeStack, EngineUnavailable, host_ports  # noqa: E402
from devstack import DevStack  # noqa: E402

from shared.auth import Role, spec_json  # noqa: E402

_PORTS = host_ports()
INGEST = f"http://127.0.0.1:{_PORTS['ingest']}"
MATCH = f"http://127.0.0.1:{_PORTS['match']}"
NOTIFY = f"http://127.0.0.1:{_PORTS['notify']}"
CAMPAIGN = f"http://127.0.0.1:{_PORTS['campaign']}"
KAFKA = f"127.0.0.1:{_PORTS['kafka']}"
SERVICES = ("ingest", "match", "notify", "campaign")
ADMIN_KEY = "cf_it_" + secrets.token_urlsafe(24)
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
# The full-campaign test's official (its counties: 深圳 4403) and the SMS gateway's key.
OFFICIAL_KEY = "cf_it_" + secrets.token_urlsafe(24)
OFFICIAL_AREA = "4403"
GATEWAY_KEY = "cf_it_" + secrets.token_urlsafe(24)
# The orders test's enterprise (filing an order for its posting) and the agency it is dispatched to.
EMPLOYER_CODE = "91440300MA5H7K2L3M"
EMPLOYER_KEY = "cf_it_" + secrets.token_urlsafe(24)
AGENCY_CODE = "91440300MA5J9N4P6Q"
AGENCY_KEY = "cf_it_" + secrets.token_urlsafe(24)
# Set when the session fell back to the local stack; repeated in the terminal summary.
FALLBACK: list[str] = []


class Stack:
    """What the tests may do to the stack besides HTTP and Kafka: kill, start, cut Kafka off."""

    kind = "?"

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.prefix = env["CHUNFENG_TOPIC_PREFIX"]

    def topic(self, name: str) -> str:
        return f"{self.prefix}chunfeng.{name}.v1"

    @property
    def mongodb_url(self) -> str:
        """The stack's MongoDB-protocol store, as published on the host."""
        return f"mongodb://127.0.0.1:{_PORTS['mongo']}/"

    def start(self, name: str) -> None:
        raise NotImplementedError

    def restart(self, name: str, extra_env: dict[str, str]) -> None:
        """Stop the service and start it again with ``extra_env`` over the session's settings
        (an empty dict restores them); returns once it is healthy."""
        raise NotImplementedError

    def kill(self, name: str, sig: int) -> None:
        raise NotImplementedError

    @property
    def owns_kafka(self) -> bool:
        """True when this session started the broker, so it may stop it (the outage test)."""
        raise NotImplementedError

    def stop_kafka(self) -> None:
        raise NotImplementedError

    def start_kafka(self) -> None:
        raise NotImplementedError


class LocalStack(Stack):
    """The services as processes of this machine (scripts/devstack.py)."""

    kind = "local processes"

    def __init__(self, devstack: DevStack, env: dict[str, str]) -> None:
        super().__init__(env)
        self.devstack = devstack

    def start(self, name: str) -> None:
        self.devstack.start_service(name, self.env)

    def restart(self, name: str, extra_env: dict[str, str]) -> None:
        self.devstack.kill_service(name, signal.SIGTERM)
        self.devstack.start_service(name, {**self.env, **extra_env})

    def kill(self, name: str, sig: int) -> None:
        self.devstack.kill_service(name, sig)

    @property
    def owns_kafka(self) -> bool:
        return "kafka" in self.devstack.started_infra

    def _kafka(self, command: str) -> None:
        kafka_dir = str(self.devstack.var / "kafka")
        subprocess.run(["bash", "scripts/kafka.sh", command, kafka_dir], cwd=self.devstack.root, check=True)

    def stop_kafka(self) -> None:
        self._kafka("stop")

    def start_kafka(self) -> None:
        self._kafka("start")


class ContainerStack(Stack):
    """The services as containers of a compose project (scripts/composestack.py)."""

    kind = "docker compose"

    def __init__(self, compose: ComposeStack, env: dict[str, str]) -> None:
        super().__init__(env)
        self.compose = compose

    def start(self, name: str) -> None:
        # `docker compose start`: a no-op if dockerd's restart policy already brought it back.
        self.compose.start(name)

    def kill(self, name: str, sig: int) -> None:
        self.compose.kill(name, sig)

    def restart(self, name: str, extra_env: dict[str, str]) -> None:
        # The containers read their settings from compose's interpolation: a changed value
        # makes `up` recreate that one container.
        self.compose.env = {**self.env, **extra_env}
        self.compose.write_env_file()
        self.compose.compose("up", "--detach", "--no-deps", "--wait", name)

    @property
    def owns_kafka(self) -> bool:
        return True  # the session's own compose project

    def stop_kafka(self) -> None:
        self.compose.stop("kafka")

    def start_kafka(self) -> None:
        self.compose.start("kafka")


def _session_env(suffix: str, sink_dir: Path) -> dict[str, str]:
    return {
        "CHUNFENG_TOPIC_PREFIX": f"it{suffix}.",
        "INGEST_MONGODB_DB": f"it_{suffix}_ingest",
        "MATCH_MONGODB_DB": f"it_{suffix}_match",
        "NOTIFY_MONGODB_DB": f"it_{suffix}_notify",
        "CAMPAIGN_MONGODB_DB": f"it_{suffix}_campaign",
        "NOTIFY_DAILY_CAP": "1000",
        "NOTIFY_FILE_SINK_PATH": str(sink_dir / f"messages-{suffix}.jsonl"),
        "LOG_LEVEL": "INFO",
        "CHUNFENG_API_KEYS": spec_json(
            [
                ("integration-admin", Role.admin, ADMIN_KEY, []),
                ("integration-official-shenzhen", Role.official, OFFICIAL_KEY, [OFFICIAL_AREA]),
                ("integration-sms-gateway", Role.gateway, GATEWAY_KEY, []),
                ("integration-employer", Role.employer, EMPLOYER_KEY, [EMPLOYER_CODE]),
                ("integration-agency", Role.employer, AGENCY_KEY, [AGENCY_CODE]),
            ]
        ),
    }


def _say(config: pytest.Config, message: str) -> None:
    """Past pytest's output capture, straight to the terminal (and CI's log): the stack's
    start-up can take minutes the first time, and a fallback must not go unnoticed."""
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        print(message, file=sys.stderr, flush=True)


def _shout(config: pytest.Config, message: str) -> None:
    bar = "!" * 100
    _say(config, f"\n{bar}\n{message}\n{bar}")
    warnings.warn(message, stacklevel=2)


def _compose_stack(config: pytest.Config, suffix: str) -> Iterator[Stack]:
    env = _session_env(suffix, Path("/app/var/test"))  # the file sink is inside notify's container
    compose = ComposeStack(project="chunfeng-it", env=env)
    compose.hold_ports()
    try:
        compose.ensure_engine()
    except EngineUnavailable:
        compose.release_ports()  # the local stack takes the same lock itself
        raise
    t0 = time.monotonic()
    try:
        _say(config, f"\nintegration stack: docker compose, project {compose.project} (building images)")
        compose.up()
        _say(config, f"integration stack: built and healthy in {time.monotonic() - t0:.0f}s")
        yield ContainerStack(compose, env)
    finally:
        # Fresh volumes every session, and the engine stopped if this session started it.
        compose.down(volumes=True)


def _local_stack(suffix: str) -> Iterator[Stack]:
    if _PORTS != {name: default for name, (_var, default) in HOST_PORTS.items()}:
        raise RuntimeError(f"the local-process stack runs on the standard ports only, not {_PORTS}")
    env = _session_env(suffix, ROOT / "var" / "test")
    ds = DevStack()
    ds.ensure_infra()
    subprocess.run(
        [sys.executable, "-m", "shared.topics"],
        cwd=ROOT,
        env={**os.environ, **env, "KAFKA_BOOTSTRAP_SERVERS": KAFKA, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=120,
    )
    s = LocalStack(ds, env)
    try:
        for name in SERVICES:
            s.start(name)
        yield s
    finally:
        ds.stop_all()


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Iterator[Stack]:
    suffix = uuid.uuid4().hex[:8]
    choice = os.environ.get("CHUNFENG_IT_STACK", "compose")
    if choice not in ("compose", "local"):
        raise RuntimeError(f"CHUNFENG_IT_STACK must be compose or local, not {choice!r}")
    if choice == "compose":
        try:
            yield from _compose_stack(pytestconfig, suffix)
            return
        except EngineUnavailable as exc:
            FALLBACK.append(str(exc).splitlines()[0])
            _shout(
                pytestconfig,
                "NO DOCKER ENGINE: the integration tests run against the LOCAL-PROCESS stack "
                f"(scripts/devstack.py) instead of docker compose.\nReason: {exc}",
            )
    yield from _local_stack(suffix)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FALLBACK:
        terminalreporter.section("stack", sep="!", red=True, bold=True)
        terminalreporter.line(
            f"integration tests ran on local processes, NOT docker compose: {FALLBACK[0]}", red=True
        )


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    # Generous: after the full suite the compose stack's FerretDB is slow (on SQLite, very).
    with httpx.Client(timeout=120, headers=AUTH) as client:
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backlog: leaves a backlog behind it; runs after the other tests")
    config.addinivalue_line("markers", "latency: checks a time bound (within 10 s); runs before the others")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``latency`` (the pipeline's "within 10 s") run first and ``backlog`` (the
    large import) last: on FerretDB every scan it does not hand to the backend (all of them on
    SQLite) reads the whole collection, so the collections the other tests fill and the events
    they leave would be in the bound."""

    def rank(item: pytest.Item) -> int:
        return 0 if item.get_closest_marker("latency") else 2 if item.get_closest_marker("backlog") else 1

    items.sort(key=rank)
