"""The local-process stack as the chaos runs use it: fresh data per run, faults, readiness.

Built on ``scripts/devstack.py`` (which holds the machine-wide stack lock while it runs): Kafka,
FerretDB and PostgreSQL are its processes, the services are its children. A fault is exactly a
``SIGKILL`` of one of those processes; the broker and the database can only be killed when this
run started them (it never touches an infrastructure another run left behind).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path

from shared.auth import Role, spec_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from devstack import HOST, SERVICE_PORTS, DevStack  # noqa: E402

PIPELINE = ("ingest", "match", "notify")
SECOND_NOTIFY_PORT = 8013
# A broker of the chaos run's own when the one on 9092 was started by another run (and so may not
# be killed): its ports and data directory.
OWN_KAFKA = {"KAFKA_PORT": "19092", "KAFKA_CONTROLLER_PORT": "19093"}
GATEWAY_REPLY_DELAY_S = 0.15


def url(name: str) -> str:
    port = SECOND_NOTIFY_PORT if name == "notify2" else SERVICE_PORTS[name]
    return f"http://{HOST}:{port}"


def ready(name: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url(name)}/readyz", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def status_of(name: str, path: str, timeout: float = 5.0) -> int:
    """The HTTP status of an open route (0: no answer)."""
    try:
        with urllib.request.urlopen(f"{url(name)}{path}", timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, urllib.error.URLError):
        return 0


def get_text(name: str, path: str, timeout: float = 5.0) -> str | None:
    try:
        with urllib.request.urlopen(f"{url(name)}{path}", timeout=timeout) as resp:
            return str(resp.read().decode())
    except (OSError, urllib.error.URLError):
        return None


class ChaosStack:
    def __init__(self, admin_key: str) -> None:
        self.ds = DevStack()
        self.admin_key = admin_key
        self.session = uuid.uuid4().hex[:6]
        self.env: dict[str, str] = {}
        self.running: list[str] = []  # service instances of the current run, in start order
        self.gateway_jsonl = self.ds.var / "chaos" / f"gateway-{self.session}.jsonl"
        self._infra_env: dict[str, dict[str, str]] = {}
        self._infra_dir: dict[str, Path] = {}

    def _dir(self, infra: str) -> Path:
        return self._infra_dir.get(infra, self.ds.var / infra)

    # --- the whole session ------------------------------------------------------------------

    def up(self) -> None:
        self.ds.ensure_infra()
        if not self.owns("kafka"):
            self._infra_env["kafka"] = OWN_KAFKA
            self._infra_dir["kafka"] = self.ds.var / "chaos-kafka"
            self.start_infra("kafka")
            self.ds.kafka_bootstrap = f"{HOST}:{OWN_KAFKA['KAFKA_PORT']}"
            self.ds.started_infra.append("kafka")  # stopped by ``down``
        self.gateway_jsonl.parent.mkdir(parents=True, exist_ok=True)
        gateway = {
            "GATEWAY_HOST": HOST,
            "GATEWAY_JSONL": str(self.gateway_jsonl),
            # A carrier's answer takes a while; a notify killed meanwhile has sent without knowing.
            "GATEWAY_REPLY_DELAY_S": str(GATEWAY_REPLY_DELAY_S),
        }
        self.ds.start_service("gateway", gateway)

    def down(self) -> None:
        if "kafka" in self._infra_env:  # our own broker beside another run's: DevStack knows only var/kafka
            self.ds.started_infra.remove("kafka")
            env = {**os.environ, **self._infra_env["kafka"]}
            kafka_sh = [str(ROOT / "scripts" / "kafka.sh"), "stop", str(self._infra_dir["kafka"])]
            self.ds.stop_all()
            subprocess.run(["bash", *kafka_sh], env=env, check=False, stdout=subprocess.DEVNULL)
            return
        self.ds.stop_all()

    def owns(self, infra: str) -> bool:
        return infra in self.ds.started_infra

    # --- one run ------------------------------------------------------------------------------

    def new_run(self, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Stop the previous run's services; topics and databases of their own for this one."""
        self.stop_services()
        tag = f"{self.session}{name.replace('-', '')[:10]}"
        self.env = {
            "CHUNFENG_TOPIC_PREFIX": f"chaos{tag}.",
            "INGEST_MONGODB_DB": f"chaos_{tag}_ingest",
            "MATCH_MONGODB_DB": f"chaos_{tag}_match",
            "NOTIFY_MONGODB_DB": f"chaos_{tag}_notify",
            "NOTIFY_SMS_GATEWAY_URL": f"{url('gateway')}/send",
            "NOTIFY_WECHAT_GATEWAY_URL": f"{url('gateway')}/wechat",
            # Delivery rules out of the accounting's way (see the README): no quiet hours (start
            # = end), a cap no seeker reaches (each has one recommendation), and a crashed
            # worker's claim retried after 10 s instead of 2 minutes, so the drain stays short.
            "NOTIFY_QUIET_START": "00:00",
            "NOTIFY_QUIET_END": "00:00",
            "NOTIFY_DAILY_CAP": "1000",
            "NOTIFY_LEASE_S": "10",
            "CHUNFENG_API_KEYS": spec_json([("chaos-admin", Role.admin, self.admin_key, [])]),
            "LOG_LEVEL": "WARNING",
            **(extra or {}),
        }
        subprocess.run(
            [self.ds.python, "-m", "shared.topics"],
            cwd=ROOT,
            env=self.ds.env(self.env),
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )
        return self.env

    def start(self, name: str, timeout: float = 90.0) -> None:
        """Start a service instance of the current run (``notify2``: a second notify worker)."""
        if name == "notify2":
            self.ds.start_service("notify", self.env, timeout, instance="notify2", port=SECOND_NOTIFY_PORT)
        else:
            self.ds.start_service(name, self.env, timeout)
        if name not in self.running:
            self.running.append(name)

    def kill(self, name: str) -> None:
        self.ds.kill_service(name, signal.SIGKILL)

    def stop_services(self) -> None:
        for name in reversed(self.running):
            self.ds.kill_service(name, signal.SIGTERM)
        self.running.clear()

    def wait_ready(self, names: list[str] | None = None, timeout: float = 120.0) -> float | None:
        """Seconds until every named instance's /readyz is 200 (None: not within ``timeout``)."""
        names = names or list(self.running)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if all(ready(n) for n in names):
                return time.monotonic() - t0
            time.sleep(0.25)
        return None

    # --- infrastructure faults -------------------------------------------------------------

    def _pid(self, infra: str) -> int:
        return int((self._dir(infra) / f"{infra}.pid").read_text().strip())

    def kill_infra(self, infra: str) -> None:
        """SIGKILL Kafka or FerretDB (this session's own process), and wait until it is gone."""
        if not self.owns(infra):
            raise RuntimeError(f"{infra} was not started by this run; it will not be killed")
        pid = self._pid(infra)
        os.kill(pid, signal.SIGKILL)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def start_infra(self, infra: str, attempts: int = 10) -> None:
        """Start it again. PostgreSQL refuses while the killed postmaster's backends still hold
        its shared memory (they exit once they notice it died), hence a few attempts."""
        env = {
            **os.environ,
            "CHUNFENG_STORE_BACKEND": self.ds.store_backend,
            **self._infra_env.get(infra, {}),
        }
        command = ["bash", str(ROOT / "scripts" / f"{infra}.sh"), "start", str(self._dir(infra))]
        for attempt in range(attempts):
            done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if done.returncode == 0:
                return
            if attempt == attempts - 1:
                raise RuntimeError(f"{infra} did not start again: {done.stderr.decode()[-2000:]}")
            time.sleep(1)
