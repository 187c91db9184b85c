"""`make run`'s embedded mode: the four real apps in one process, the demo reaches an inbox."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from services import embedded
from services.demo import load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_embedded_run_serves_the_demo_with_explained_recommendations(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    ports = {name: _free_port() for name in ("INGEST", "MATCH", "NOTIFY", "CAMPAIGN")}
    for name, port in ports.items():
        monkeypatch.setenv(f"{name}_PORT", str(port))
        monkeypatch.setenv(f"{name}_MONGODB_DB", f"embedded_test_{name.lower()}")
    monkeypatch.setenv("NOTIFY_FILE_SINK_PATH", f"{tmp_path}/messages.jsonl")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("MONGODB_URL", raising=False)
    monkeypatch.setattr(load, "_loaded_profiles", [])
    monkeypatch.setattr(load, "_keys", {})
    monkeypatch.delenv("CHUNFENG_API_KEYS", raising=False)
    stop = asyncio.Event()
    task = asyncio.create_task(embedded.main(load=True, stop=stop))
    try:
        for _ in range(300):  # the demo loader fills _loaded_profiles once it has posted
            if load._loaded_profiles or task.done():
                break
            await asyncio.sleep(0.05)
        assert load._loaded_profiles, "demo not loaded"
        name, pid = load._loaded_profiles[0]
        notify = f"http://127.0.0.1:{ports['NOTIFY']}"
        async with httpx.AsyncClient(base_url=notify) as client:
            assert (await client.get(f"/v1/inbox/{pid}")).status_code == 401
            client.headers["Authorization"] = f"Bearer {load._keys['admin']}"
            items: list[dict[str, object]] = []
            for _ in range(100):
                items = (await client.get(f"/v1/inbox/{pid}")).json()["items"]
                if items:
                    break
                await asyncio.sleep(0.05)
        assert items, f"{name}'s inbox stayed empty"
        campaign = f"http://127.0.0.1:{ports['CAMPAIGN']}"
        async with httpx.AsyncClient(base_url=campaign) as client:
            assert (await client.get("/healthz")).status_code == 200
        reason = str(items[0]["reason"])
        assert "距家" in reason and "月薪" in reason
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
