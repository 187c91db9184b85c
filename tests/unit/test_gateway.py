"""The fake gateway takes its configuration from GATEWAY_* through its settings class."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


def test_settings_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "9025")
    monkeypatch.setenv("GATEWAY_FAIL_RATE", "1")
    monkeypatch.setenv("GATEWAY_JSONL", str(tmp_path / "m.jsonl"))
    s = GatewaySettings()
    assert (s.host, s.port, s.fail_rate, s.jsonl) == ("0.0.0.0", 9025, 1.0, tmp_path / "m.jsonl")
    with TestClient(create_app()) as client:  # the same environment, read by the app itself
        assert client.post("/send", json={"to": "13912345678", "text": "hi"}).status_code == 503
    monkeypatch.setenv("GATEWAY_FAIL_RATE", "1.5")
    with pytest.raises(ValidationError, match="fail_rate"):
        GatewaySettings()


def test_accepted_messages_are_kept_and_deduplicated(tmp_path: Path) -> None:
    settings = GatewaySettings(jsonl=tmp_path / "m.jsonl", fail_rate=0.0)
    with TestClient(create_app(settings, rng=random.Random(1))) as client:
        body = {"to": "13912345678", "text": "hi", "idempotency_key": "d1"}
        first = client.post("/send", json=body).json()
        assert client.post("/send", json=body).json() == first
        assert [m["id"] for m in client.get("/messages").json()] == [first["id"]]
        assert client.get("/messages").json()[0]["repeats"] == 1  # the resend was seen, not stored
    assert len((tmp_path / "m.jsonl").read_text(encoding="utf-8").splitlines()) == 1
