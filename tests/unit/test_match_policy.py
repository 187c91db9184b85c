"""The policy file loads, validates, and can be replaced through MATCH_POLICY_PATH (the settings)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.match.scoring import load_policy
from services.match.settings import MatchSettings


def test_default_policy() -> None:
    p = load_policy()
    assert (p.top_k, p.max_per_employer, p.capacity_multiple) == (5, 2, 3)
    assert p.capacity(4) == 12
    assert p.weights.distance == max(p.weights.distance, p.weights.wage, p.weights.skills)


def test_override_path_and_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "p.toml"
    good.write_text("top_k = 3\n[weights]\ndistance = 1.0\n", encoding="utf-8")
    monkeypatch.setenv("MATCH_POLICY_PATH", str(good))
    settings = MatchSettings()
    assert settings.policy_path == good
    assert load_policy(settings.policy_path).top_k == 3
    assert load_policy().top_k == 5  # scoring itself reads no environment
    bad = tmp_path / "bad.toml"
    bad.write_text("top_k = 3\n[weights]\ndistanse = 1.0\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        load_policy(bad)
    bad.write_text("threshold = 2\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        load_policy(bad)
