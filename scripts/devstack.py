"""The real stack on one machine: Kafka + FerretDB + the service processes (stdlib only).

Used two ways:

* by the integration tests, as a module::

      stack = DevStack()
      stack.ensure_infra()            # fetch/build once, start Kafka and FerretDB or reuse them
      stack.create_topics()           # python -m shared.topics
      stack.start_service("ingest")   # waits until /healthz answers 200
      stack.kill_service("ingest", signal.SIGKILL)
      stack.stop_all()                # services, then the infra this DevStack started

* from the command line (``make stack``, ``make infra-up``, ``make infra-down``)::

      python scripts/devstack.py stack | infra-up | infra-down | fetch

Ports: Kafka 127.0.0.1:9092 (controller 9093), FerretDB 127.0.0.1:27017, ingest 8001,
match 8002, notify 8003, campaign 8004, the fake SMS/WeChat gateway 8025, and PostgreSQL
127.0.0.1:5433 when FerretDB runs on it (``CHUNFENG_STORE_BACKEND=postgresql``, the default;
``sqlite`` is the other choice). Data lives under ``var/`` (``var/kafka``, ``var/ferretdb``,
``var/postgres``), service output in ``var/logs/<name>.log``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
KAFKA_PORT = 9092
MONGO_PORT = 27017
KAFKA_BOOTSTRAP_SERVERS = f"{HOST}:{KAFKA_PORT}"
MONGODB_URL = f"mongodb://{HOST}:{MONGO_PORT}/"
STORE_BACKENDS = ("sqlite", "postgresql")
# PostgreSQL: FerretDB on SQLite scans whole collections, even for _id (bench/store.py, issue 7).
DEFAULT_STORE_BACKEND = "postgresql"
SERVICE_PORTS = {"ingest": 8001, "match": 8002, "notify": 8003, "campaign": 8004, "gateway": 8025}
PIPELINE = ("ingest", "match", "notify", "campaign")
# The ports are the machine's, not a clone's: one DevStack at a time uses them (see _hold_ports).
PORTS_LOCK = Path(tempfile.gettempdir()) / "chunfeng-devstack.lock"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def kafka_answers(host: str = HOST, port: int = KAFKA_PORT, timeout: float = 2.0) -> bool:
    """True when a Kafka broker there answers an ApiVersions request without error.

    An open port is not enough: the broker binds its listener before it serves requests.
    """
    client_id = b"devstack"
    # request header v1: api_key 18 (ApiVersions), version 0, correlation id, client id; empty body
    body = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            head = _recv_exactly(sock, 10)  # size, correlation id, error code
    except OSError:
        return False
    _size, correlation_id, error_code = struct.unpack(">iih", head)
    return correlation_id == 7 and error_code == 0


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def healthz_ok(port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the service's process group (it runs in its own, see ``start_service``)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL)
        return proc.wait()


def _try_flock(f: IO[str]) -> bool:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def hold_ports_lock(who: str, timeout: float | None = None) -> IO[str]:
    """Wait for, then return open (closing it releases), the machine-wide lock on the stack ports.

    Both the local-process stack and the compose stack publish the same ports, so both take this
    one lock. Waits at most ``timeout`` or ``DEVSTACK_LOCK_TIMEOUT`` seconds (20 minutes).
    """
    if timeout is None:
        timeout = float(os.environ.get("DEVSTACK_LOCK_TIMEOUT", "1200"))
    lock = PORTS_LOCK.open("a+")
    deadline = time.monotonic() + timeout
    if not _try_flock(lock):
        lock.seek(0)
        holder = lock.read().strip() or "?"
        print(f"{who}: waiting for the stack ports' lock (pid {holder})", file=sys.stderr)
        while not _try_flock(lock):
            if time.monotonic() > deadline:
                lock.close()
                raise RuntimeError(f"another stack (pid {holder}) still holds {PORTS_LOCK}")
            time.sleep(1.0)
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def _address(hostport: str, default_port: int) -> tuple[str, int]:
    host, _, port = hostport.strip().rpartition(":")
    return (host, int(port)) if host else (hostport.strip(), default_port)


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class DevStack:
    """Starts what the stack needs and stops exactly what it started."""

    def __init__(self, root: Path = ROOT, var_dir: Path | None = None, python: str | None = None) -> None:
        self.root = root
        self.var = var_dir or root / "var"
        self.log_dir = self.var / "logs"
        venv_python = root / ".venv" / "bin" / "python"
        self.python = python or (str(venv_python) if venv_python.exists() else sys.executable)
        # Endpoints from the environment win (e.g. a Compose stack, or `make run` with both set);
        # only the local defaults are started here when nothing answers.
        self.kafka_bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or KAFKA_BOOTSTRAP_SERVERS
        self.mongodb_url = os.environ.get("MONGODB_URL") or MONGODB_URL
        self.store_backend = os.environ.get("CHUNFENG_STORE_BACKEND") or DEFAULT_STORE_BACKEND
        if self.store_backend not in STORE_BACKENDS:
            raise ValueError(f"CHUNFENG_STORE_BACKEND: one of {STORE_BACKENDS}, not {self.store_backend!r}")
        self.services: dict[str, subprocess.Popen[bytes]] = {}
        self.started_infra: list[str] = []  # in start order: "kafka", "postgres", "ferretdb"
        self._lock: IO[str] | None = None

    def _hold_ports(self) -> None:
        """Wait for, then hold until ``stop_all``, the machine-wide lock on the stack's ports.

        Two test runs (two clones, or a developer and CI) would otherwise collide on the
        fixed ports, or one would stop the Kafka the other is reusing. Waits at most
        ``DEVSTACK_LOCK_TIMEOUT`` seconds (20 minutes).
        """
        if self._lock is None:
            self._lock = hold_ports_lock("devstack")

    def _release_ports(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing drops the flock
            self._lock = None

    # --- infrastructure -------------------------------------------------------------------

    def _script(self, name: str, *args: str) -> None:
        env = {**os.environ, "CHUNFENG_STORE_BACKEND": self.store_backend}
        subprocess.run(["bash", str(self.root / "scripts" / name), *args], check=True, env=env)

    def fetch_infra(self) -> None:
        """Download Kafka's jars and build FerretDB into the cache, if not done before."""
        self._script("kafka.sh", "fetch")
        self._script("ferretdb.sh", "build")
        if self.store_backend == "postgresql":
            self._script("postgres.sh", "install")

    def ensure_infra(self, timeout: float = 60.0) -> None:
        """Make Kafka and MongoDB answer: reuse whatever already listens, else start ours.

        Ours are Kafka on 127.0.0.1:9092 and FerretDB on 127.0.0.1:27017 (on PostgreSQL, which
        is started first, when that is the backend), with their data in ``var/``; an endpoint set
        elsewhere through the environment is only waited for.
        """
        self._hold_ports()
        kafka = _address(self.kafka_bootstrap.split(",")[0], KAFKA_PORT)
        mongo = _address(urllib.parse.urlsplit(self.mongodb_url).netloc.rsplit("@", 1)[-1], MONGO_PORT)
        ours = {"kafka": KAFKA_PORT, "ferretdb": MONGO_PORT}
        endpoints = {"kafka": kafka, "ferretdb": mongo}
        missing = [name for name, (host, port) in endpoints.items() if not port_open(host, port)]
        for name in missing:
            host, port = endpoints[name]
            if host not in (HOST, "localhost") or port != ours[name]:
                raise RuntimeError(f"{name}: nothing answers on {host}:{port} (set in the environment)")
        if missing:
            self.fetch_infra()  # may take minutes the first time: check the ports again after it
        postgres_up = port_open(HOST, int(os.environ.get("POSTGRES_PORT", "5433")))
        if "ferretdb" in missing and self.store_backend == "postgresql" and not postgres_up:
            missing.insert(missing.index("ferretdb"), "postgres")  # FerretDB needs it up first
        for name in missing:
            self.started_infra.append(name)  # before: an interrupted start is stopped too
            try:
                self._script(f"{name}.sh", "start", str(self.var / name))
            except subprocess.CalledProcessError:
                self.started_infra.remove(name)
                if name in endpoints and port_open(*endpoints[name]):  # another run started one: reuse it
                    continue
                raise
        deadline = time.monotonic() + timeout
        while not kafka_answers(*kafka):  # a broker we reuse may still be starting
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kafka on {self.kafka_bootstrap} does not answer ApiVersions")
            time.sleep(0.3)

    def stop_infra(self, everything: bool = False) -> None:
        """Stop the infrastructure this DevStack started (or, with ``everything``, ours in var/
        whoever started it): Kafka first, then FerretDB, then the PostgreSQL under it."""
        for name in ("kafka", "ferretdb", "postgres"):
            if everything or name in self.started_infra:
                self._script(f"{name}.sh", "stop", str(self.var / name))
        self.started_infra.clear()

    def create_topics(self) -> None:
        """``python -m shared.topics`` against the stack's Kafka (the broker never auto-creates)."""
        subprocess.run([self.python, "-m", "shared.topics"], env=self.env(), cwd=self.root, check=True)

    # --- services -------------------------------------------------------------------------

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.root), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka_bootstrap
        env["MONGODB_URL"] = self.mongodb_url
        env.update(extra or {})
        return env

    def start_service(
        self,
        name: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        *,
        instance: str | None = None,
        port: int | None = None,
    ) -> subprocess.Popen[bytes]:
        """Run ``python -m services.<name>`` and wait until its /healthz answers 200.

        Output is appended to ``var/logs/<instance>.log``. Raises if the port is already taken,
        or if the process exits or stays unhealthy for ``timeout`` seconds (with the log tail).
        ``instance`` and ``port`` run a second process of one service (the chaos run's second
        notify worker); it is then known, killed and stopped under ``instance``.
        """
        self._hold_ports()
        port = port or SERVICE_PORTS[name]
        key = instance or name
        running = self.services.get(key)
        if running is not None and running.poll() is None:
            raise RuntimeError(f"{key} is already running (pid {running.pid})")
        if port_open(HOST, port):
            raise RuntimeError(f"{key}: {HOST}:{port} is already taken by another process")
        prefix = name.upper()
        defaults = {f"{prefix}_HOST": HOST, f"{prefix}_PORT": str(port)}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{key}.log"
        with log_path.open("ab") as log:
            log.write(f"\n--- devstack: starting {key} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                [self.python, "-m", f"services.{name}"],
                cwd=self.root,
                env=self.env({**defaults, **(env or {})}),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a Ctrl-C at the terminal reaches devstack only, which
                # then stops the services once, in order.
                process_group=0,
            )
        self.services[key] = proc
        deadline = time.monotonic() + timeout
        while not healthz_ok(port):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{key} exited with code {proc.returncode} during start-up; "
                    f"last lines of {log_path}:\n{_log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                self.kill_service(key, signal.SIGKILL)
                raise RuntimeError(
                    f"{key}: no 200 from /healthz on port {port} within {timeout:.0f}s; "
                    f"last lines of {log_path}:\n{_log_tail(log_path)}"
                )
            time.sleep(0.2)
        return proc

    def kill_service(self, name: str, sig: int = signal.SIGKILL, timeout: float = 30.0) -> int | None:
        """Send ``sig`` to the service and wait for it to exit; returns its exit code.

        Escalates to SIGKILL after ``timeout`` seconds. A no-op for a service not running.
        """
        proc = self.services.pop(name, None)
        if proc is None:
            return None
        _signal(proc, sig)
        return _reap(proc, timeout)

    def stop_all(self, timeout: float = 30.0) -> None:
        """SIGTERM every service (all at once), wait for them, stop the infra this DevStack started
        and let the next DevStack have the ports.

        Each service gets exactly one SIGTERM: uvicorn takes a second one as "exit now".
        """
        procs = list(self.services.values())
        self.services.clear()
        for proc in procs:
            _signal(proc, signal.SIGTERM)
        for proc in procs:
            _reap(proc, timeout)
        self.stop_infra()
        self._release_ports()

    def __enter__(self) -> DevStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


# --- command line ---------------------------------------------------------------------------


def ensure_admin_key() -> str | None:
    """``make stack`` without configured keys: a fresh admin key for this run, hash to the services.

    The services get only its SHA-256 (``CHUNFENG_API_KEYS``), the demo loader and the operator
    the key itself (``CHUNFENG_ADMIN_KEY``, printed). Configured keys are left alone.
    """
    if os.environ.get("CHUNFENG_API_KEYS"):
        return os.environ.get("CHUNFENG_ADMIN_KEY")
    key = "cf_" + secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    # The fake SMS gateway's own key, so seekers' "1"/"2" replies reach notify (role gateway).
    gateway_key = "cf_" + secrets.token_urlsafe(32)
    gateway_digest = hashlib.sha256(gateway_key.encode()).hexdigest()
    os.environ["CHUNFENG_API_KEYS"] = json.dumps(
        [
            {"id": "devstack-admin", "role": "admin", "key_sha256": digest, "scope": []},
            {"id": "devstack-sms-gateway", "role": "gateway", "key_sha256": gateway_digest, "scope": []},
        ]
    )
    os.environ["CHUNFENG_ADMIN_KEY"] = key
    os.environ.setdefault("GATEWAY_INBOUND_KEY", gateway_key)
    return key


def run_stack(stack: DevStack) -> int:
    """``make stack``: everything up, wait for Ctrl-C / SIGTERM, everything down."""
    stop = threading.Event()
    running = False

    def on_signal(signum: int, _frame: object) -> None:
        if not running:  # still starting (or waiting for the ports): abandon that at once
            raise KeyboardInterrupt
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    code = 0
    admin_key = ensure_admin_key()
    try:
        stack.ensure_infra()
        stack.create_topics()
        gateway = f"http://{HOST}:{SERVICE_PORTS['gateway']}"
        inbound = f"http://{HOST}:{SERVICE_PORTS['notify']}/v1/sms/inbound"
        stack.start_service("gateway", {"GATEWAY_HOST": HOST, "GATEWAY_INBOUND_URL": inbound})
        extra = {
            "notify": {
                "NOTIFY_SMS_GATEWAY_URL": f"{gateway}/send",
                "NOTIFY_WECHAT_GATEWAY_URL": f"{gateway}/wechat",
            }
        }
        for name in PIPELINE:
            stack.start_service(name, extra.get(name))
        if os.environ.get("CHUNFENG_DEMO", "1") != "0":  # the same demo as `make run`, over HTTP
            demo = [stack.python, "-m", "services.demo"]
            subprocess.run(demo, env=stack.env(), cwd=stack.root, check=False)
        print(f"\nKafka      {stack.kafka_bootstrap}\nMongoDB    {stack.mongodb_url}")
        for name, port in SERVICE_PORTS.items():
            print(f"{name:<10} http://{HOST}:{port}/docs   log: {stack.log_dir / (name + '.log')}")
        if admin_key:
            print(f'admin key  {admin_key}   (curl -H "Authorization: Bearer {admin_key}" …)')
        print(f"messages   {gateway}/messages\nCtrl-C stops everything.", flush=True)
        running = True
        while not stop.wait(1.0):
            dead = [n for n, p in stack.services.items() if p.poll() is not None]
            if dead:
                for name in dead:
                    print(f"devstack: {name} exited; see {stack.log_dir / (name + '.log')}", file=sys.stderr)
                code = 1
                break
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        print("devstack: stopping", file=sys.stderr)
        stack.stop_all()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["stack", "infra-up", "infra-down", "fetch"])
    args = parser.parse_args(argv)
    stack = DevStack()
    if args.command == "stack":
        return run_stack(stack)
    if args.command == "fetch":
        stack.fetch_infra()
    elif args.command == "infra-up":
        stack.ensure_infra()  # left running on purpose; `infra-down` stops it
        print(f"Kafka {stack.kafka_bootstrap}, MongoDB {stack.mongodb_url}")
    else:
        stack.stop_infra(everything=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
