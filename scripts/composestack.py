"""The whole stack in containers, through Docker Compose (stdlib only).

Used two ways:

* by the integration tests, as a module::

      stack = ComposeStack(project="chunfeng-it", env={"CHUNFENG_TOPIC_PREFIX": "it1234.", ...})
      stack.hold_ports()          # the machine-wide lock devstack.py takes for the same ports
      stack.ensure_engine()       # install/start dockerd if needed; raises EngineUnavailable
      stack.up()                  # stage, build (cached), start, wait until every service is healthy
      stack.kill("match", signal.SIGKILL)     # docker kill --signal
      stack.start("match")        # docker compose start, wait until healthy again
      stack.down()                # containers and volumes, the engine if we started it, the lock

* from the command line (``make compose-up``, ``compose-down``, ``compose-build``)::

      python scripts/composestack.py up | down | build | config | ps

Images: ``CHUNFENG_COMPOSE_IMAGES=local`` (the default: nothing can be pulled here) adds
``docker-compose.offline.yml``, whose Kafka, FerretDB and application images are built from
``local/debian:bookworm`` (``scripts/base-image.sh``) with the jars, the FerretDB binary and a
wheelhouse staged in ``var/docker/`` from ``$CHUNFENG_CACHE``; ``official`` uses
``docker-compose.yml`` alone (apache/kafka and mongo, pulled).

Host ports: ``CHUNFENG_<NAME>_HOST_PORT`` (KAFKA 9092, MONGO 27017, INGEST 8001, MATCH 8002,
NOTIFY 8003, CAMPAIGN 8004, GATEWAY 8025), always on 127.0.0.1. While any of them is a standard port the
stack holds ``/tmp/chunfeng-devstack.lock``, exactly as ``scripts/devstack.py`` does, so a compose
stack and a local-process stack never fight over the ports.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devstack import PORTS_LOCK, healthz_ok, hold_ports_lock, kafka_answers

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CACHE = Path(os.environ.get("CHUNFENG_CACHE") or Path.home() / ".cache" / "chunfeng")
# service -> (variable naming its host port, standard port)
HOST_PORTS = {
    "kafka": ("CHUNFENG_KAFKA_HOST_PORT", 9092),
    "mongo": ("CHUNFENG_MONGO_HOST_PORT", 27017),
    "ingest": ("CHUNFENG_INGEST_HOST_PORT", 8001),
    "match": ("CHUNFENG_MATCH_HOST_PORT", 8002),
    "notify": ("CHUNFENG_NOTIFY_HOST_PORT", 8003),
    "campaign": ("CHUNFENG_CAMPAIGN_HOST_PORT", 8004),
    "sms-gateway": ("CHUNFENG_GATEWAY_HOST_PORT", 8025),
}
HTTP_SERVICES = ("ingest", "match", "notify", "campaign", "sms-gateway")
LONG_RUNNING = ("kafka", "mongo", *HTTP_SERVICES)  # every service but the one-shot topics job
KAFKA_VERSION = "4.1.1"
FERRETDB_VERSION = "v1.24.2"


class EngineUnavailable(RuntimeError):
    """No Docker engine could be installed or started here (not a failure of the stack itself)."""


def host_ports(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """The host port of each published service, from ``env`` (else os.environ) or the standard."""
    source = {**os.environ, **(env or {})}
    return {name: int(source.get(var) or default) for name, (var, default) in HOST_PORTS.items()}


def _log_tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
    except OSError:
        return False
    return sa.st_size == sb.st_size and int(sa.st_mtime) == int(sb.st_mtime)


def _sync_tree(src: Path, dst: Path) -> None:
    """Make ``dst`` hold exactly ``src``'s files; unchanged files (size, mtime) are not copied."""
    dst.mkdir(parents=True, exist_ok=True)
    wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
    for old in [p for p in dst.rglob("*") if p.is_file() and p.relative_to(dst) not in wanted]:
        old.unlink()
    for rel in wanted:
        target = dst / rel
        if not _same_file(src / rel, target):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, target)


class ComposeStack:
    """Starts the stack with Docker Compose and stops exactly what it started."""

    def __init__(
        self,
        project: str = "chunfeng",
        env: Mapping[str, str] | None = None,
        images: str | None = None,
        root: Path = ROOT,
    ) -> None:
        self.project = project
        self.root = root
        self.env = dict(env or {})
        self.images = images or os.environ.get("CHUNFENG_COMPOSE_IMAGES", "local")
        if self.images not in ("local", "official"):
            raise ValueError(f"CHUNFENG_COMPOSE_IMAGES must be local or official, not {self.images!r}")
        self.ports = host_ports(self.env)
        self.state = root / "var" / "compose"
        self.env_file = self.state / f"{project}.env"
        self.started_engine = False
        self._lock: IO[str] | None = None

    # --- the ports' lock ------------------------------------------------------------------

    def needs_lock(self) -> bool:
        """True while any host port is a standard one (those are devstack's too)."""
        return any(self.ports[name] == HOST_PORTS[name][1] for name in HOST_PORTS)

    def hold_ports(self, timeout: float | None = None) -> None:
        """Wait for, then hold until ``down``, the lock ``scripts/devstack.py`` takes for these ports.

        A no-op when every host port was moved off the standard ones. Waits at most
        ``DEVSTACK_LOCK_TIMEOUT`` seconds (20 minutes), like DevStack.
        """
        if self._lock is not None or not self.needs_lock():
            return
        self._lock = hold_ports_lock("composestack", timeout)

    def release_ports(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing drops the flock
            self._lock = None

    # --- the engine -----------------------------------------------------------------------

    def ensure_engine(self) -> None:
        """Install and start a Docker engine with Compose v2 unless one answers.

        Raises EngineUnavailable with the reason when that is impossible here (not root, no
        Debian packages, dockerd refuses to start, ...).
        """
        try:
            proc = subprocess.run(
                ["bash", str(self.root / "scripts" / "docker-engine.sh"), "start"],
                capture_output=True,
                text=True,
                timeout=float(os.environ.get("DOCKER_ENGINE_TIMEOUT", "600")),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineUnavailable(f"scripts/docker-engine.sh start: {exc}") from exc
        if proc.returncode != 0:
            raise EngineUnavailable(
                f"scripts/docker-engine.sh start exited {proc.returncode}:\n{_log_tail(proc.stderr, 12)}"
            )
        lines = proc.stdout.split()
        self.started_engine = self.started_engine or (lines[-1:] == ["started"])

    def stop_engine(self) -> None:
        """Stop dockerd, if this ComposeStack started it."""
        if self.started_engine:
            subprocess.run(["bash", str(self.root / "scripts" / "docker-engine.sh"), "stop"], check=False)
            self.started_engine = False

    # --- images ---------------------------------------------------------------------------

    def files(self) -> list[Path]:
        files = [self.root / "docker-compose.yml"]
        if self.images == "local":
            files.append(self.root / "docker-compose.offline.yml")
        return files

    def _script(self, name: str, *args: str) -> None:
        subprocess.run(["bash", str(self.root / "scripts" / name), *args], check=True)

    def stage(self) -> None:
        """What the local images copy, into var/docker/ (git-ignored), from $CHUNFENG_CACHE.

        The base image, Kafka's jars and the FerretDB binary are made once by the scripts the
        local-process stack uses too; the wheelhouse once per dependency list.
        """
        if self.images != "local":
            return
        docker = self.root / "var" / "docker"
        self._script("base-image.sh")
        self._script("kafka.sh", "fetch")
        _sync_tree(CACHE / f"kafka-{KAFKA_VERSION}" / "libs", docker / "kafka-libs")
        self._script("ferretdb.sh", "build")
        binary = CACHE / "bin" / f"ferretdb-{FERRETDB_VERSION}"
        if not _same_file(binary, docker / "ferretdb"):
            shutil.copy2(binary, docker / "ferretdb")
        _sync_tree(self.wheelhouse(), docker / "wheels")

    def wheelhouse(self) -> Path:
        """Wheels of [project].dependencies for CPython 3.11 on Linux, in $CHUNFENG_CACHE, once.

        Built by this (3.11) interpreter's pip on the host, which reaches PyPI through the
        machine's certificates: a build container does not trust them, and with the wheels at
        hand the image installs with ``pip --no-index`` in seconds.
        """
        if sys.version_info[:2] != (3, 11):
            raise RuntimeError(f"the wheelhouse needs Python 3.11 (the images' Python), not {sys.version}")
        with (self.root / "pyproject.toml").open("rb") as f:
            deps = sorted(tomllib.load(f)["project"]["dependencies"])
        key = hashlib.sha256("\n".join(deps).encode()).hexdigest()[:12]
        house = CACHE / f"wheels-{key}"
        if (house / ".complete").exists():
            return house
        print(f"composestack: building the wheelhouse {house} (once per dependency list)", file=sys.stderr)
        tmp = house.with_name(house.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--disable-pip-version-check",
                "-w",
                str(tmp),
                *deps,
            ],
            env={**os.environ, "PIP_CACHE_DIR": str(CACHE / "pip")},
            check=True,
        )
        shutil.rmtree(house, ignore_errors=True)
        tmp.rename(house)
        (house / ".complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
        return house

    # --- compose --------------------------------------------------------------------------

    def compose_env(self) -> dict[str, str]:
        """The environment for compose's interpolation: ours wins over the caller's shell."""
        return {**os.environ, **self.env}

    def write_env_file(self) -> None:
        """var/compose/<project>.env: this stack's settings, so that a person can run e.g.
        ``docker compose -p chunfeng-it --env-file var/compose/chunfeng-it.env ps`` against it."""
        self.state.mkdir(parents=True, exist_ok=True)
        # Single quotes: compose takes the value literally (the API keys' JSON has double quotes).
        lines = [
            f"{k}='{v}'" if any(c in v for c in "\"' #$") else f"{k}={v}" for k, v in sorted(self.env.items())
        ]
        if self.images == "local":
            lines.append("COMPOSE_FILE=" + os.pathsep.join(str(f) for f in self.files()))
        self.env_file.write_text("\n".join(lines) + "\n")

    def command(self, *args: str) -> list[str]:
        cmd = ["docker", "compose", "--project-directory", str(self.root), "-p", self.project]
        for f in self.files():
            cmd += ["-f", str(f)]
        if self.env_file.exists():
            cmd += ["--env-file", str(self.env_file)]
        return [*cmd, *args]

    def compose(
        self, *args: str, check: bool = True, capture: bool = False, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            cwd=self.root,
            env=self.compose_env(),
            check=check,
            text=True,
            capture_output=capture,
            timeout=timeout,
        )

    def config(self) -> str:
        return self.compose("config", capture=True).stdout

    def build(self) -> None:
        """Stage, then build every image (BuildKit's layer cache makes a rebuild take seconds)."""
        self.stage()
        self.write_env_file()
        self.compose("build")

    def up(self, timeout: float = 300.0) -> None:
        """Build, start everything, and wait until every service is healthy (the topics job done).

        On failure the containers' state and last log lines are in the exception.
        """
        self.build()
        proc = self.compose(
            "up", "--detach", "--remove-orphans", "--wait", "--wait-timeout", str(int(timeout)),
            check=False, capture=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(
                f"docker compose up failed ({proc.returncode}):\n{_log_tail(proc.stderr)}\n{self.diagnose()}"
            )
        # `up --wait` has been seen returning 0 within seconds while the containers were only
        # "Created"; the tests then talked to whatever answered on the ports. Check for ourselves:
        # every long-running service healthy in docker and answering on its host port.
        deadline = time.monotonic() + timeout
        for name in LONG_RUNNING:
            self.wait_healthy(name, max(deadline - time.monotonic(), 5.0))

    def diagnose(self, tail: int = 30) -> str:
        """``ps -a`` and the last log lines of every container, for an error message."""
        ps = self.compose("ps", "--all", check=False, capture=True).stdout
        logs = self.compose("logs", "--no-color", "--tail", str(tail), check=False, capture=True).stdout
        return f"{ps}\n{logs}"

    def container(self, name: str) -> str:
        cid = self.compose("ps", "--all", "--quiet", name, capture=True).stdout.strip()
        if not cid:
            raise RuntimeError(f"{name}: no container in project {self.project}")
        return cid.splitlines()[0]

    def _state(self, cid: str) -> dict[str, object]:
        out = subprocess.run(
            ["docker", "inspect", "--format", "{{json .State}}", cid],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        state: dict[str, object] = json.loads(out)
        return state

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 30.0) -> None:
        """``docker kill --signal`` the service's container and wait until that process is gone.

        With ``init: true`` the signal goes to docker-init, which passes it on (SIGKILL ends the
        whole container at once). dockerd marks a killed container as stopped by hand, so the
        restart policy does not bring it back: ``start`` does, as ``devstack`` would.
        """
        cid = self.container(name)
        before = self._state(cid).get("StartedAt")
        subprocess.run(["docker", "kill", "--signal", signal.Signals(sig).name, cid], check=True,
                       capture_output=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            state = self._state(cid)
            if not state.get("Running") or state.get("StartedAt") != before:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} still runs {timeout:.0f}s after {signal.Signals(sig).name}")
            time.sleep(0.1)

    def stop(self, name: str) -> None:
        """``docker compose stop``: stopped by hand, so the restart policy leaves it down."""
        self.compose("stop", name, capture=True)

    def start(self, name: str, timeout: float = 120.0) -> None:
        """Start the service's container unless it already runs (e.g. restarted by dockerd),
        then wait until its health check passes and it answers on its host port."""
        self.compose("start", name, capture=True)
        self.wait_healthy(name, timeout)

    def wait_healthy(self, name: str, timeout: float = 120.0) -> None:
        cid = self.container(name)
        deadline = time.monotonic() + timeout
        while True:
            state = self._state(cid)
            health = state.get("Health")
            healthy = isinstance(health, dict) and health.get("Status") == "healthy"
            if healthy and self._answers(name):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not healthy within {timeout:.0f}s: {state}\n{self.diagnose()}")
            time.sleep(0.3)

    def _answers(self, name: str) -> bool:
        if name == "kafka":
            return kafka_answers(HOST, self.ports["kafka"])
        if name in HTTP_SERVICES:
            return healthz_ok(self.ports[name])
        return True

    def down(self, volumes: bool = False) -> None:
        """Remove the containers (and, with ``volumes``, their data), stop the engine if we
        started it, and let the next stack have the ports."""
        try:
            args = ["down", "--remove-orphans", "--timeout", "10"] + (["--volumes"] if volumes else [])
            self.compose(*args, check=False)
        finally:
            self.stop_engine()
            self.release_ports()


# --- command line: make compose-up / compose-down -------------------------------------------
#
# `make compose-up` returns while the stack runs, so the ports' lock cannot be held by it: a
# small detached process ("hold-lock") takes the lock, writes its pid to var/compose/lock.pid,
# and holds it until `make compose-down` ends that process. Whether compose-up started dockerd is
# remembered in var/compose/engine-started, so compose-down stops only an engine it started.


def _holder_pidfile(stack: ComposeStack) -> Path:
    return stack.state / "lock.pid"


def _holder_pid(stack: ComposeStack) -> int | None:
    """The pid of our lock holder, if it still runs (checked by its command line, not just the pid)."""
    try:
        pid = int(_holder_pidfile(stack).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if b"hold-lock" in cmdline and any(b"composestack" in c for c in cmdline) else None


def hold_lock(pidfile: Path) -> int:
    """The detached lock holder: take the lock (waiting as DevStack does), say so, hold it."""
    stack = ComposeStack()
    stack.hold_ports()
    pidfile.write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def start_holder(stack: ComposeStack) -> None:
    if not stack.needs_lock() or _holder_pid(stack) is not None:
        return
    stack.state.mkdir(parents=True, exist_ok=True)
    pidfile = _holder_pidfile(stack)
    pidfile.unlink(missing_ok=True)
    with (stack.state / "lock-holder.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "hold-lock", "--pidfile", str(pidfile)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives make, until compose-down
        )
    # The holder gives up by itself after DEVSTACK_LOCK_TIMEOUT (it is the same wait as DevStack's).
    t0 = time.monotonic()
    announced = False
    while not pidfile.exists():
        if proc.poll() is not None:
            raise RuntimeError(
                f"the lock holder exited ({proc.returncode}); see {stack.state}/lock-holder.log"
            )
        if not announced and time.monotonic() - t0 > 2:
            print(f"composestack: waiting for {PORTS_LOCK} (another stack uses the ports)", file=sys.stderr)
            announced = True
        time.sleep(0.2)


def stop_holder(stack: ComposeStack) -> None:
    pid = _holder_pid(stack)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    _holder_pidfile(stack).unlink(missing_ok=True)


def admin_key(stack: ComposeStack) -> str | None:
    """``make compose-up`` without configured keys: an admin key, made once and kept in
    var/compose/admin.key (mode 600) so the next compose-up keeps it; the containers get only its
    SHA-256 through ``CHUNFENG_API_KEYS``. Configured keys are left alone (None)."""
    if os.environ.get("CHUNFENG_API_KEYS"):
        return None
    path = stack.state / "admin.key"
    if not path.exists():
        stack.state.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("cf_" + secrets.token_urlsafe(32) + "\n")
    key = path.read_text().strip()
    digest = hashlib.sha256(key.encode()).hexdigest()
    stack.env["CHUNFENG_API_KEYS"] = json.dumps(
        [{"id": "compose-admin", "role": "admin", "key_sha256": digest, "scope": []}]
    )
    return key


def cli_up(stack: ComposeStack) -> int:
    t0 = time.monotonic()
    key = admin_key(stack)
    try:
        start_holder(stack)
    except RuntimeError as exc:
        print(f"composestack: {exc}", file=sys.stderr)
        return 1
    marker = stack.state / "engine-started"
    try:
        stack.ensure_engine()
        if stack.started_engine:
            marker.write_text("started by make compose-up\n")
        stack.up()
    except (EngineUnavailable, RuntimeError, subprocess.CalledProcessError) as exc:
        # Leave nothing half-up holding the ports' lock: others' tests wait for it.
        print(f"composestack: {exc}\ncomposestack: stopping what was started", file=sys.stderr)
        cli_down(stack, volumes=False)
        return 1
    p = stack.ports
    print(f"\nup in {time.monotonic() - t0:.0f}s (project {stack.project}, {stack.images} images)")
    print(f"Kafka      {HOST}:{p['kafka']}\nMongoDB    mongodb://{HOST}:{p['mongo']}/")
    for name in ("ingest", "match", "notify", "campaign"):
        print(f"{name:<10} http://{HOST}:{p[name]}/docs")
    print(f"messages   http://{HOST}:{p['sms-gateway']}/messages")
    if key:
        print(f"admin key  {key}   (kept in {stack.state / 'admin.key'}; send as 'Authorization: Bearer …')")
    print("logs       docker compose -p", stack.project, "logs -f;  `make compose-down` stops it all")
    return 0


def cli_down(stack: ComposeStack, volumes: bool) -> int:
    marker = stack.state / "engine-started"
    engine_answers = subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    if engine_answers:
        stack.compose("down", "--remove-orphans", "--timeout", "10", *(["--volumes"] if volumes else []),
                      check=False)  # fmt: skip
    if marker.exists():
        stack.started_engine = True
        stack.stop_engine()
        marker.unlink()
    stop_holder(stack)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "build", "config", "ps", "hold-lock"])
    parser.add_argument("--project", default=os.environ.get("COMPOSE_PROJECT", "chunfeng"))
    parser.add_argument("--volumes", action="store_true", help="down: delete the data volumes too")
    parser.add_argument("--pidfile", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command == "hold-lock":
        return hold_lock(args.pidfile)
    stack = ComposeStack(project=args.project)
    if args.command == "up":
        return cli_up(stack)
    if args.command == "down":
        return cli_down(stack, args.volumes)
    if args.command == "build":
        stack.ensure_engine()
        t0 = time.monotonic()
        stack.build()
        print(f"built in {time.monotonic() - t0:.0f}s", file=sys.stderr)
        if stack.started_engine:
            print("composestack: dockerd left running; `make compose-down` stops it", file=sys.stderr)
            stack.state.mkdir(parents=True, exist_ok=True)
            (stack.state / "engine-started").write_text("started by make compose-build\n")
        return 0
    if args.command == "config":
        sys.stdout.write(stack.config())
        return 0
    return stack.compose("ps", "--all", check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
