"""The store's command counters: what a throughput run reads to say whose commands bound it."""

from __future__ import annotations

from datetime import timedelta

from pymongo import monitoring

from shared.metrics import STORE_COMMANDS, STORE_DOCUMENTS, STORE_SECONDS
from shared.store.mongo import CommandMetrics

ADDRESS = ("127.0.0.1", 27017)


def started(request_id: int, command: dict[str, object]) -> monitoring.CommandStartedEvent:
    return monitoring.CommandStartedEvent(command, "db", request_id, ADDRESS, request_id)


def succeeded(request_id: int, name: str, ms: int) -> monitoring.CommandSucceededEvent:
    return monitoring.CommandSucceededEvent(
        timedelta(milliseconds=ms), {"ok": 1}, name, request_id, ADDRESS, 1
    )


def value(metric: object, *labels: str) -> float:
    return float(metric.labels(*labels)._value.get())  # type: ignore[attr-defined]


def test_commands_documents_and_time_are_counted_by_collection() -> None:
    listener = CommandMetrics()
    before = {
        "insert": value(STORE_COMMANDS, "insert", "probe_a"),
        "docs": value(STORE_DOCUMENTS, "insert", "probe_a"),
        "updates": value(STORE_DOCUMENTS, "update", "probe_a"),
        "find": value(STORE_COMMANDS, "find", "probe_b"),
        "seconds": value(STORE_SECONDS, "insert", "probe_a"),
    }
    listener.started(started(1, {"insert": "probe_a", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}]}))
    listener.succeeded(succeeded(1, "insert", 250))
    listener.started(started(2, {"update": "probe_a", "updates": [{"q": {}, "u": {}}] * 2}))
    listener.started(started(3, {"find": "probe_b", "filter": {"_id": "x"}}))
    listener.started(started(4, {"hello": 1}))  # a handshake: not the services' work
    assert value(STORE_COMMANDS, "insert", "probe_a") == before["insert"] + 1
    assert value(STORE_DOCUMENTS, "insert", "probe_a") == before["docs"] + 3
    assert value(STORE_DOCUMENTS, "update", "probe_a") == before["updates"] + 2
    assert value(STORE_COMMANDS, "find", "probe_b") == before["find"] + 1
    assert abs(value(STORE_SECONDS, "insert", "probe_a") - before["seconds"] - 0.25) < 1e-9
    assert "hello" not in {c for c, _ in listener._started.values()}
