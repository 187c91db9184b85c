"""One scenario per fault: a fresh run, a steady load, the fault in the middle, the restart, the
drain, the accounting. Each returns one row of the table."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.load import Load, account, drain, generate
from chaos.stack import PIPELINE, ChaosStack, get_text, ready, status_of

RECOVERY_LIMIT_S = 30.0


@dataclass
class Options:
    rate: float = 5.0  # requests per second (the pipeline handles ~8 profiles/s end to end)
    duration_s: float = 30.0
    fault_at_s: float = 10.0
    down_s: float = 3.0  # how long the killed process stays dead before the restart
    drain_s: float = 150.0


@dataclass
class Outcome:
    """What the fault step measured."""

    recovery_s: float | None = None  # restart issued -> every service ready again
    restart_s: float | None = None  # how long the restart command itself took
    notes: dict[str, Any] = field(default_factory=dict)


Fault = Callable[[ChaosStack, Options], Outcome]


@dataclass
class Scenario:
    fault: str
    act: Fault
    services: tuple[str, ...] = PIPELINE
    env: dict[str, str] = field(default_factory=dict)
    postings_per_cell: int = 1
    profiles_per_cell: int = 4
    sms_cap: int | None = None


def _restart(stack: ChaosStack, start: Callable[[], None]) -> Outcome:
    t = time.monotonic()
    start()
    restarted = time.monotonic() - t
    waited = stack.wait_ready(timeout=120)
    return Outcome(
        recovery_s=None if waited is None else restarted + waited,
        restart_s=restarted,
    )


def kill_service(name: str) -> Fault:
    def act(stack: ChaosStack, o: Options) -> Outcome:
        stack.kill(name)
        time.sleep(o.down_s)
        return _restart(stack, lambda: stack.start(name))

    return act


def kill_notify_mid_send(stack: ChaosStack, o: Options) -> Outcome:
    """SIGKILL notify right after the gateway accepted one of its SMS, before the answer (the
    gateway answers ``GATEWAY_REPLY_DELAY_S`` late): the message is out, the delivery is still
    ``sending``. The restarted worker retries it after the lease, under the same idempotency key."""
    last = latest_message_id()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and latest_message_id() == last:
        time.sleep(0.02)
    stack.kill("notify")
    mid_send = time.monotonic() < deadline
    time.sleep(o.down_s)
    out = _restart(stack, lambda: stack.start("notify"))
    out.notes["killed_after_an_accepted_send"] = mid_send
    return out


def latest_message_id() -> str | None:
    messages = json.loads(get_text("gateway", "/messages?limit=1") or "[]")
    return str(messages[0]["id"]) if messages else None


def kill_infra(infra: str) -> Fault:
    def act(stack: ChaosStack, o: Options) -> Outcome:
        stack.kill_infra(infra)
        time.sleep(o.down_s)
        return _restart(stack, lambda: stack.start_infra(infra))

    return act


def start_while_db_down(stack: ChaosStack, o: Options) -> Outcome:
    """SIGKILL FerretDB and every service; start the services with the database still down (they
    must start and answer /readyz 503); then bring the database back and time their readiness."""
    stack.kill_infra("ferretdb")
    names = list(stack.running)
    for name in names:
        stack.kill(name)
    for name in names:
        stack.start(name)  # returns once /healthz answers 200: started without the database
    notes: dict[str, Any] = {
        "healthz_while_db_down": {n: status_of(n, "/healthz") for n in names},
        "readyz_while_db_down": {n: status_of(n, "/readyz") for n in names},
    }
    time.sleep(o.down_s)
    out = _restart(stack, lambda: stack.start_infra("ferretdb"))
    out.notes = notes
    ok = all(v == 200 for v in notes["healthz_while_db_down"].values()) and all(
        v == 503 for v in notes["readyz_while_db_down"].values()
    )
    out.notes["started_not_ready_then_ready"] = ok and out.recovery_s is not None
    return out


SCENARIOS: dict[str, Scenario] = {
    s.fault: s
    for s in (
        Scenario("none", lambda stack, o: Outcome(recovery_s=0.0, restart_s=0.0)),
        Scenario("kill -9 ingest", kill_service("ingest")),
        Scenario("kill -9 match", kill_service("match")),
        Scenario("kill -9 notify", kill_notify_mid_send),
        Scenario("kill -9 kafka", kill_infra("kafka")),
        Scenario("kill -9 ferretdb", kill_infra("ferretdb")),
        Scenario("kill -9 postgresql", kill_infra("postgres")),
        Scenario("start while db down", start_while_db_down),
        Scenario(
            "kill -9 1 of 2 notify (cap 2)",
            kill_service("notify2"),
            services=(*PIPELINE, "notify2"),
            env={"NOTIFY_DAILY_CAP": "2"},
            postings_per_cell=4,
            profiles_per_cell=3,
            sms_cap=2,
        ),
    )
}


def run(
    stack: ChaosStack, scenario: Scenario, run_no: int, o: Options, headers: dict[str, str]
) -> dict[str, Any]:
    stack.new_run(f"r{run_no}", scenario.env)
    for name in scenario.services:
        stack.start(name)
    if stack.wait_ready(timeout=120) is None:
        states = {n: ready(n) for n in stack.running}
        raise RuntimeError(f"{scenario.fault}: the stack is not ready before the fault: {states}")
    load = Load(
        run=f"{stack.session}{run_no}",
        run_no=run_no,
        postings_per_cell=scenario.postings_per_cell,
        profiles_per_cell=scenario.profiles_per_cell,
    )
    errors: list[BaseException] = []

    async def stream() -> None:
        async with httpx.AsyncClient(headers=headers, timeout=15) as client:
            await generate(client, load, rate=o.rate, duration_s=o.duration_s)

    def in_thread() -> None:
        try:
            asyncio.run(stream())
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    loader = threading.Thread(target=in_thread, name="chaos-load")
    t0 = time.monotonic()
    loader.start()
    time.sleep(max(0.0, o.fault_at_s - (time.monotonic() - t0)))
    outcome = scenario.act(stack, o)
    loader.join()
    if errors:
        raise errors[0]

    async def settle() -> tuple[float, dict[str, Any]]:
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            waited = await drain(client, load, timeout_s=o.drain_s, sms_per_profile=scenario.sms_cap)
            await asyncio.sleep(3)  # a late duplicate (a replay) would show up now
            return waited, await account(client, load, sms_cap=scenario.sms_cap)

    drain_s, row = asyncio.run(settle())
    recovery = outcome.recovery_s
    return {
        "fault": scenario.fault,
        **row,
        "server_errors": server_errors(row),
        "recovery_s": None if recovery is None else round(recovery, 1),
        "restart_s": None if outcome.restart_s is None else round(outcome.restart_s, 1),
        "drain_s": round(drain_s, 1),
        **outcome.notes,
    }


def passed(row: dict[str, Any]) -> bool:
    recovery = row.get("recovery_s")
    return (
        row.get("lost") == 0
        and row.get("duplicated") == 0
        and row.get("accepted", 0) > 0
        and recovery is not None
        and recovery <= RECOVERY_LIMIT_S
        and row.get("started_not_ready_then_ready", True) is True
        and not server_errors(row)
    )


def server_errors(row: dict[str, Any]) -> int:
    """Answers 5xx other than 503: an outage must be a 503 to retry, never a 500."""
    refused = row.get("refused", {})
    return sum(n for code, n in refused.items() if code.isdigit() and int(code) >= 500 and code != "503")
