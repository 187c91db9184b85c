"""The compose files as Docker Compose itself reads them (`docker compose config`, no engine needed).

Checks what the deployment relies on: every port published on 127.0.0.1 only, `init: true` and
a restart policy on every long-running service, health checks, Kafka's two listeners, the
per-session settings reaching the containers, and the offline override swapping in only locally
built images. Skipped only when no docker client exists at all; a client without the compose
plugin is a failure (`make compose-tools` / `scripts/docker-engine.sh install` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from composestack import HOST_PORTS, ComposeStack, host_ports  # noqa: E402

LONG_RUNNING = ("kafka", "mongo", "ingest", "match", "notify", "campaign", "sms-gateway")
SESSION = {
    "CHUNFENG_TOPIC_PREFIX": "it42.",
    "INGEST_MONGODB_DB": "it_42_ingest",
    "MATCH_MONGODB_DB": "it_42_match",
    "NOTIFY_MONGODB_DB": "it_42_notify",
    "NOTIFY_DAILY_CAP": "1000",
    "NOTIFY_FILE_SINK_PATH": "/app/var/test/messages-42.jsonl",
    "CHUNFENG_KAFKA_HOST_PORT": "19092",
    "CHUNFENG_API_KEYS": '[{"id": "it", "role": "admin", "key_sha256": "00", "scope": []}]',
}


def _config(*files: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on this machine: the compose files cannot be checked here")
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    assert version.returncode == 0, (
        "docker has no compose plugin; `bash scripts/docker-engine.sh install` installs it: " + version.stderr
    )
    cmd = ["docker", "compose", "--project-directory", str(ROOT)]
    for f in files:
        cmd += ["-f", str(ROOT / f)]
    clean = {k: v for k, v in os.environ.items() if k not in SESSION and "HOST_PORT" not in k}
    proc = subprocess.run(
        [*cmd, "config", "--format", "json"], capture_output=True, text=True, env={**clean, **(env or {})}
    )
    assert proc.returncode == 0, proc.stderr
    config: dict[str, Any] = json.loads(proc.stdout)
    return config


@pytest.fixture(scope="module", params=["official", "offline"])
def config(request: pytest.FixtureRequest) -> dict[str, Any]:
    files = ["docker-compose.yml"] + (["docker-compose.offline.yml"] if request.param == "offline" else [])
    return _config(*files, env=SESSION)


def test_every_port_is_published_on_loopback_only(config: dict[str, Any]) -> None:
    published = {}
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)
            published[name] = int(port["published"])
    standard = {name: default for name, (_var, default) in HOST_PORTS.items()}
    assert published == {**standard, "kafka": 19092}


def test_long_running_services_restart_and_have_an_init_and_a_health_check(config: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        service = config["services"][name]
        assert service.get("init") is True, name
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name
    assert config["services"]["topics"]["restart"] == "no"


def test_kafka_has_an_internal_and_a_host_listener(config: dict[str, Any]) -> None:
    env = config["services"]["kafka"]["environment"]
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "INTERNAL://kafka:19092,HOST://127.0.0.1:19092"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
    for name in ("topics", "ingest", "match", "notify", "campaign"):
        assert config["services"][name]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092"


def test_per_session_settings_reach_the_containers(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("topics", "ingest", "match", "notify", "campaign"):
        assert services[name]["environment"]["CHUNFENG_TOPIC_PREFIX"] == "it42.", name
        assert services[name]["environment"]["CHUNFENG_API_KEYS"] == SESSION["CHUNFENG_API_KEYS"], name
    assert services["ingest"]["environment"]["INGEST_MONGODB_DB"] == "it_42_ingest"
    assert services["match"]["environment"]["MATCH_MONGODB_DB"] == "it_42_match"
    notify = services["notify"]["environment"]
    assert notify["NOTIFY_MONGODB_DB"] == "it_42_notify"
    assert notify["NOTIFY_DAILY_CAP"] == "1000"
    assert notify["NOTIFY_FILE_SINK_PATH"] == "/app/var/test/messages-42.jsonl"
    assert notify["NOTIFY_SMS_GATEWAY_URL"] == "http://sms-gateway:8025/send"


def test_defaults_without_a_session() -> None:
    services = _config("docker-compose.yml")["services"]
    assert services["ingest"]["environment"]["CHUNFENG_TOPIC_PREFIX"] == ""
    assert services["notify"]["environment"]["NOTIFY_DAILY_CAP"] == "3"
    assert services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].endswith("HOST://127.0.0.1:9092")


def test_official_images_and_the_offline_override() -> None:
    official = _config("docker-compose.yml")["services"]
    offline = _config("docker-compose.yml", "docker-compose.offline.yml")["services"]
    assert official["kafka"]["image"] == "apache/kafka:4.1.1" and "build" not in official["kafka"]
    assert official["mongo"]["image"] == "mongo:7"
    assert official["ingest"]["build"]["args"]["BASE_IMAGE"] == "debian:bookworm-slim"
    # offline: every image is built here from the local base, nothing is pulled
    for name, service in offline.items():
        assert service["build"]["args"]["BASE_IMAGE"] == "local/debian:bookworm", name
    assert offline["kafka"]["build"]["dockerfile"] == "infra/kafka/Dockerfile"
    assert [v["target"] for v in offline["mongo"]["volumes"]] == ["/state"]


def _pool_max_conns(url: str) -> int:
    return int(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["pool_max_conns"])


def test_offline_ferretdb_on_postgresql_has_a_pool_the_clients_cannot_exhaust() -> None:
    services = _config("docker-compose.yml", "docker-compose.offline.yml")["services"]
    mongo = services["mongo"]
    assert mongo["environment"]["FERRETDB_HANDLER"] == "postgresql"  # the default, see the file's header
    assert mongo["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["build"]["dockerfile"] == "infra/postgres/Dockerfile"
    # docs/store.md "Connections": two PostgreSQL connections per operation in flight, 8 clients
    per_client = int(services["ingest"]["environment"]["MONGODB_MAX_POOL"])
    pool = _pool_max_conns(mongo["environment"]["FERRETDB_POSTGRESQL_URL"])
    assert pool >= 2 * 8 * per_client
    assert int(services["postgres"]["environment"]["POSTGRES_MAX_CONNECTIONS"]) > pool


def test_sqlite_is_one_setting_away() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on this machine")
    files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "docker-compose.offline.yml")]
    proc = subprocess.run(
        ["docker", "compose", "--project-directory", str(ROOT), *files, "config", "--format", "json"],
        capture_output=True, text=True,
        env={**os.environ, "FERRETDB_HANDLER": "sqlite"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["services"]["mongo"]["environment"]["FERRETDB_HANDLER"] == "sqlite"


def test_host_ports_and_the_ports_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, _default in HOST_PORTS.values():
        monkeypatch.delenv(var, raising=False)
    assert host_ports({}) == {name: default for name, (_var, default) in HOST_PORTS.items()}
    # the standard ports are devstack's too: the compose stack takes the same lock for them
    assert ComposeStack(env={}).needs_lock()
    moved = {var: str(default + 10000) for var, default in HOST_PORTS.values()}
    assert not ComposeStack(env=moved).needs_lock()
    assert host_ports(moved)["kafka"] == 19092
